// `thresh user …` as a process against a real hub: an admin invites, the invited person accepts from
// the link with --password-stdin and is logged in with the invited role, roles change, users go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempHome } from '../support/process.ts'
import { ADMIN_PASSWORD, startHub, type TestHub } from '../hub/support.ts'
import { thresh, type CliResult } from './cli.ts'

let hub: TestHub
const adminHome = tempHome('thresh-cli-admin-')
const admin = { THRESH_HOME: adminHome }

function ok(result: CliResult): CliResult {
  expect(result.code, result.stdout + result.stderr).toBe(0)
  return result
}

function expectFailure(result: CliResult, text: string | RegExp): void {
  expect(result.code, result.stdout + result.stderr).not.toBe(0)
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1)
  expect(result.stderr).toMatch(text)
}

beforeAll(async () => {
  hub = await startHub({ storage: 'memory' })
  ok(await thresh(['auth', 'login', '--hub', hub.url, '--username', 'admin', '--password-stdin'], admin, { stdin: `${ADMIN_PASSWORD}\n` }))
}, 90_000)

afterAll(async () => {
  await hub?.stop()
})

describe('thresh user', () => {
  it('invites with a one-time link; the invited person accepts it and is logged in as a viewer who may only read', async () => {
    const invited = ok(await thresh(['user', 'invite', '--role', 'viewer'], admin))
    const link = /(http\S+#\/invite\/thresh_inv_\w+)/.exec(invited.stdout)?.[1]
    expect(link, invited.stdout).toBeDefined()
    expect(invited.stdout).toContain('only time it is shown')

    const viewerHome = { THRESH_HOME: tempHome('thresh-cli-viewer-') }
    const accepted = ok(await thresh(['user', 'accept', link!, '--username', 'cli-viewer', '--password-stdin'], viewerHome, { stdin: 'cli-viewer-password\n' }))
    expect(accepted.stdout).toContain(`you joined ${hub.url} as viewer`)
    ok(await thresh(['node', 'list'], viewerHome))
    expectFailure(await thresh(['cluster', 'create', 'nope'], viewerHome), /operator role/)
    expectFailure(await thresh(['user', 'accept', link!, '--username', 'cli-again', '--password-stdin'], { THRESH_HOME: tempHome() }, { stdin: 'another-password\n' }), /already been used/)

    const listed = JSON.parse(ok(await thresh(['user', 'list', '--json'], admin)).stdout)
    expect(listed.users).toEqual(expect.arrayContaining([expect.objectContaining({ userName: 'cli-viewer', role: 'viewer' }), expect.objectContaining({ userName: 'admin', role: 'owner', hubOwner: true })]))
    const table = ok(await thresh(['user', 'list'], admin)).stdout
    expect(table).toMatch(/admin \(you\)\s+owner \(hub owner\)/)
    expect(table).toMatch(/cli-viewer\s+viewer/)

    expect(ok(await thresh(['user', 'role', 'cli-viewer', 'operator'], admin)).stdout).toContain('cli-viewer is now operator.')
    ok(await thresh(['cluster', 'create', 'by-operator'], viewerHome))
    expectFailure(await thresh(['user', 'remove', 'cli-viewer'], admin), /needs confirmation; pass --force/)
    expect(ok(await thresh(['user', 'remove', 'cli-viewer', '--force'], admin)).stdout).toContain('Removed cli-viewer; 1 session(s) ended.')
    expectFailure(await thresh(['node', 'list'], viewerHome), /401|log in|logged out/i)
  })

  it('revokes an invitation by id prefix, takes --json and --expires, and names the valid roles for a bad one', async () => {
    const created = JSON.parse(ok(await thresh(['user', 'invite', '--role', 'operator', '--expires', '1h', '--json'], admin)).stdout)
    expect(created).toMatchObject({ role: 'operator', status: 'pending' })
    expect(Date.parse(created.expiresAt) - Date.now()).toBeLessThanOrEqual(3600_000)
    expect(ok(await thresh(['user', 'revoke', created.id.slice(0, 8)], admin)).stdout).toContain('Revoked invitation')
    expectFailure(await thresh(['user', 'accept', created.token, '--hub', hub.url, '--username', 'late', '--password-stdin'], { THRESH_HOME: tempHome() }, { stdin: 'late-password-123\n' }), /was revoked/)
    expectFailure(await thresh(['user', 'invite', '--role', 'god'], admin), "Unknown role 'god'; valid roles: viewer, operator, admin, owner.")
    expectFailure(await thresh(['user', 'role', 'admin', 'viewer'], admin), /last owner/)
  })
})
