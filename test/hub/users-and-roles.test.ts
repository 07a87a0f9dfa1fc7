// Users and roles against a real hub on PostgreSQL: every route walked with a viewer, an operator, an
// admin and an owner of one account and with another account's owner; invitations end to end; role
// changes and removals that count from the next request; and no secret of theirs in the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACCOUNT_ROLES, hasRole, type AccountRole } from '../../lib/auth/roles.ts'
import { routes } from '../../plugins/hub-api/routes/index.ts'
import { ADMIN_PASSWORD, dropSchema, startHub, type TestHub } from './support.ts'

let hub: TestHub
let owner: string
const secrets: string[] = [ADMIN_PASSWORD]
const passwords = new Map<string, string>([['admin', ADMIN_PASSWORD]])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  hub = await startHub({ storage: 'postgres' })
  owner = await hub.login()
}, 90_000)

afterAll(async () => {
  await hub?.stop()
  await dropSchema(hub?.schema)
})

async function invite(token: string, role: AccountRole, expiresIn?: number): Promise<{ id: string; token: string; url: string }> {
  const reply = await hub.request('POST', '/api/invitations', { token, body: { role, ...(expiresIn ? { expiresIn } : {}) } })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  secrets.push(reply.body.token)
  return reply.body
}

async function join(invitationToken: string, username: string, password = `${username}-long-password`) {
  const reply = await hub.request('POST', '/api/invitations/accept', { body: { token: invitationToken, username, password } })
  if (reply.status === 201) {
    secrets.push(password, reply.body.accessToken)
    passwords.set(username, password)
  }
  return reply
}

/** A user of the first account with this role, signed in. */
async function member(role: AccountRole, username: string): Promise<string> {
  const reply = await join((await invite(owner, role)).token, username)
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  expect(reply.body).toMatchObject({ userName: username, role })
  return reply.body.accessToken
}

describe('roles on every route', () => {
  it('lets each role reach exactly the routes of its role and above, answers 403 naming the role below it, and never 5xx', async () => {
    const tokens: Record<string, string> = {
      viewer: await member('viewer', 'matrix-viewer'),
      operator: await member('operator', 'matrix-operator'),
      admin: await member('admin', 'matrix-admin'),
      owner: await member('owner', 'matrix-owner'),
    }
    const created = await hub.request('POST', '/api/accounts', { token: owner, body: { name: 'hostile', adminUser: 'hostile-owner', adminPassword: 'hostile-password-1' } })
    expect(created.status).toBe(201)
    passwords.set('hostile-owner', 'hostile-password-1')
    tokens.hostile = await hub.login('hostile-owner', 'hostile-password-1')
    secrets.push(...Object.values(tokens))

    const problems: string[] = []
    for (const route of routes.filter((r) => r.scope === 'cli')) {
      // An open event stream never ends: a bad cursor is answered at once, after the credential and role checks.
      const path = route.path.replace(/\{\w+\}/g, 'no-such-thing') + (route.path === '/api/events/stream' ? '?after=x' : '')
      for (const [who, stored] of Object.entries(tokens)) {
        const username = who === 'hostile' ? 'hostile-owner' : `matrix-${who}`
        // Logging out would end the session the rest of the matrix uses.
        const token = path === '/api/auth/sessions/current' ? await hub.login(username, passwords.get(username)) : stored
        const role: AccountRole = who === 'hostile' ? 'owner' : (who as AccountRole)
        const reply = await hub.request(route.method.toUpperCase(), path, { token })
        const allowed = hasRole([role], route.role!) && !route.hubOwner
        const label = `${route.method.toUpperCase()} ${route.path} as ${who}`
        if (reply.status >= 500) problems.push(`${label}: ${reply.status}`)
        if (allowed && (reply.status === 401 || reply.status === 403)) problems.push(`${label}: expected access, got ${reply.status} ${JSON.stringify(reply.body)}`)
        if (!allowed) {
          if (reply.status !== 403) problems.push(`${label}: expected 403, got ${reply.status}`)
          const names = route.hubOwner && hasRole([role], route.role!) ? /hub owner/ : new RegExp(`the ${route.role} role`)
          if (!names.test(reply.body?.message ?? '')) problems.push(`${label}: the 403 does not say what is needed: ${JSON.stringify(reply.body)}`)
        }
      }
    }
    expect(problems).toEqual([])
    // The hub owner is the first account's first owner alone; another owner of it may not create accounts.
    expect((await hub.request('GET', '/api/accounts', { token: owner })).status).toBe(200)
  }, 120_000)

  it('publishes the role each route needs in the OpenAPI document', async () => {
    const doc = (await hub.request('GET', '/api/openapi.json')).body
    expect(doc.paths['/api/stacks/deploy'].post['x-thresh-role']).toBe('operator')
    expect(doc.paths['/api/stacks'].get['x-thresh-role']).toBe('viewer')
    expect(doc.paths['/api/keys'].post['x-thresh-role']).toBe('admin')
    expect(doc.paths['/api/users/{name}'].patch['x-thresh-role']).toBe('admin')
    expect(doc.paths['/api/accounts'].post['x-thresh-hub-owner']).toBe(true)
    for (const route of routes.filter((r) => r.scope === 'cli')) expect(ACCOUNT_ROLES, `${route.method} ${route.path}`).toContain(doc.paths[route.path][route.method]['x-thresh-role'])
  })

  it("never shows or changes one account's users and invitations from another", async () => {
    const hostile = await hub.login('hostile-owner', 'hostile-password-1')
    const pending = await invite(owner, 'viewer')
    const users = (await hub.request('GET', '/api/users', { token: hostile })).body.users
    expect(users.map((u: { userName: string }) => u.userName)).toEqual(['hostile-owner'])
    expect((await hub.request('GET', '/api/invitations', { token: hostile })).body.invitations).toEqual([])
    const patch = await hub.request('PATCH', '/api/users/matrix-viewer', { token: hostile, body: { role: 'owner' } })
    expect(patch.status).toBe(404)
    expect(patch.body.message).toBe("No user named 'matrix-viewer' in this account.")
    expect((await hub.request('DELETE', '/api/users/admin', { token: hostile })).status).toBe(404)
    expect((await hub.request('DELETE', `/api/invitations/${pending.id}`, { token: hostile })).status).toBe(404)
    const mine = (await hub.request('GET', '/api/users', { token: owner })).body.users
    expect(mine.find((u: { userName: string }) => u.userName === 'matrix-viewer')).toMatchObject({ role: 'viewer' })
    expect(mine.find((u: { userName: string }) => u.userName === 'hostile-owner')).toBeUndefined()
  })
})

describe('invitations', () => {
  it('shows the link once, lets it be accepted once, and the new user signs in with the invited role', async () => {
    const created = await invite(owner, 'viewer')
    expect(created.token).toMatch(/^thresh_inv_[0-9a-f]{48}$/)
    expect(created.url).toBe(`${hub.url}/#/invite/${created.token}`)
    const listed = (await hub.request('GET', '/api/invitations', { token: owner })).body.invitations
    expect(listed.find((i: { id: string }) => i.id === created.id)).toMatchObject({ role: 'viewer', status: 'pending', createdBy: 'admin' })
    expect(JSON.stringify(listed)).not.toContain(created.token)

    const first = await join(created.token, 'invited-viewer')
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ userName: 'invited-viewer', role: 'viewer', roles: ['viewer'] })
    const viewer = first.body.accessToken
    expect((await hub.request('GET', '/api/nodes', { token: viewer })).status).toBe(200)
    const refused = await hub.request('POST', '/api/clusters', { token: viewer, body: { name: 'nope' } })
    expect(refused.status).toBe(403)
    expect(refused.body.message).toBe('This needs the operator role (or admin or owner); you are viewer in this account.')
    expect((await hub.login('invited-viewer', passwords.get('invited-viewer'))).startsWith('thresh_cli_')).toBe(true)

    const again = await join(created.token, 'second-try')
    expect(again.status).toBe(410)
    expect(again.body).toEqual({ error: 'invitation_used', message: 'This invitation has already been used; ask for a new one.' })
    expect((await hub.request('GET', '/api/invitations', { token: owner })).body.invitations.find((i: { id: string }) => i.id === created.id)).toMatchObject({ status: 'accepted', acceptedBy: 'invited-viewer' })
  })

  it('refuses an expired, a revoked or an unknown link, a short password and a taken username, each with a sentence', async () => {
    const expiring = await invite(owner, 'operator', 1)
    await sleep(1300)
    const expired = await join(expiring.token, 'too-late')
    expect(expired.status).toBe(410)
    expect(expired.body).toEqual({ error: 'invitation_expired', message: 'This invitation has expired; ask for a new one.' })

    const revoking = await invite(owner, 'operator')
    const revoked = await hub.request('DELETE', `/api/invitations/${revoking.id}`, { token: owner })
    expect(revoked.status).toBe(200)
    expect(revoked.body).toMatchObject({ status: 'revoked' })
    expect((await join(revoking.token, 'after-revoke')).body).toEqual({ error: 'invitation_revoked', message: 'This invitation was revoked; ask for a new one.' })

    const unknown = await join('thresh_inv_' + '0'.repeat(48), 'nobody')
    expect(unknown.status).toBe(400)
    expect(unknown.body.error).toBe('invalid_invitation')

    const fresh = await invite(owner, 'viewer')
    const short = await hub.request('POST', '/api/invitations/accept', { body: { token: fresh.token, username: 'shorty', password: 'short' } })
    expect(short.status).toBe(400)
    expect(short.body.message).toContain('password')
    expect(short.body.message).not.toContain('short"')
    const taken = await join(fresh.token, 'admin')
    expect(taken.status).toBe(409)
    expect(taken.body.message).toBe("The username 'admin' is taken; choose another.")
    // A refused attempt does not use the link up.
    expect((await join(fresh.token, 'fresh-viewer')).status).toBe(201)

    const badExpiry = await hub.request('POST', '/api/invitations', { token: owner, body: { role: 'viewer', expiresIn: 0 } })
    expect(badExpiry.status).toBe(400)
    const badRole = await hub.request('POST', '/api/invitations', { token: owner, body: { role: 'god' } })
    expect(badRole.status).toBe(400)
  })
})

describe('managing users', () => {
  it('keeps owners in the hands of owners, and never leaves an account without an owner', async () => {
    const admin = await member('admin', 'rules-admin')
    const forbiddenInvite = await hub.request('POST', '/api/invitations', { token: admin, body: { role: 'owner' } })
    expect(forbiddenInvite.status).toBe(403)
    expect(forbiddenInvite.body.message).toBe('Only an owner may invite an owner.')
    expect((await hub.request('PATCH', '/api/users/admin', { token: admin, body: { role: 'viewer' } })).status).toBe(403)
    expect((await hub.request('DELETE', '/api/users/admin', { token: admin })).status).toBe(403)
    expect((await hub.request('PATCH', '/api/users/rules-admin', { token: admin, body: { role: 'owner' } })).status).toBe(403)

    // An admin may invite and manage the roles below owner.
    await invite(admin, 'operator')
    const soleOwner = await hub.login('hostile-owner', 'hostile-password-1')
    const last = await hub.request('PATCH', '/api/users/hostile-owner', { token: soleOwner, body: { role: 'admin' } })
    expect(last.status).toBe(409)
    expect(last.body).toEqual({ error: 'last_owner', message: "'hostile-owner' is the last owner of this account; make another user owner first." })
    expect((await hub.request('DELETE', '/api/users/hostile-owner', { token: soleOwner })).status).toBe(409)
    const hubOwner = await hub.request('DELETE', '/api/users/admin', { token: owner })
    expect(hubOwner.status).toBe(409)
    expect(hubOwner.body.error).toBe('hub_owner')
  })

  it('lets only one of two owners demoting each other at the same moment succeed, so the account keeps an owner', async () => {
    const created = await hub.request('POST', '/api/accounts', { token: owner, body: { name: 'two-owners', adminUser: 'pair-one', adminPassword: 'pair-one-password' } })
    expect(created.status).toBe(201)
    secrets.push('pair-one-password')
    const one = await hub.login('pair-one', 'pair-one-password')
    const joined = await join((await invite(one, 'owner')).token, 'pair-two')
    expect(joined.status).toBe(201)
    const two: string = joined.body.accessToken
    const [a, b] = await Promise.all([
      hub.request('PATCH', '/api/users/pair-two', { token: one, body: { role: 'admin' } }),
      hub.request('PATCH', '/api/users/pair-one', { token: two, body: { role: 'admin' } }),
    ])
    // One wins. The other is refused: 409 if it was checked while the first was running, or 403 if it
    // was checked after the first had already demoted its sender to admin.
    const [won, lost] = [a.status, b.status].sort()
    expect(won).toBe(200)
    expect([403, 409]).toContain(lost)
    const users = (await hub.request('GET', '/api/users', { token: a.status === 200 ? one : two })).body.users as Array<{ role: string }>
    expect(users.filter((u) => u.role === 'owner')).toHaveLength(1)
  })

  it('applies a role change from the next request, and removing a user ends every session of theirs at once', async () => {
    const first = await member('viewer', 'promoted')
    const second = await hub.login('promoted', passwords.get('promoted'))
    expect((await hub.request('POST', '/api/clusters', { token: first, body: { name: 'promoted-cluster' } })).status).toBe(403)
    const changed = await hub.request('PATCH', '/api/users/promoted', { token: owner, body: { role: 'operator' } })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ userName: 'promoted', role: 'operator' })
    expect((await hub.request('POST', '/api/clusters', { token: first, body: { name: 'promoted-cluster' } })).status).toBe(201)

    const removed = await hub.request('DELETE', '/api/users/promoted', { token: owner })
    expect(removed.status).toBe(200)
    expect(removed.body).toEqual({ removed: true, userName: 'promoted', sessionsEnded: 2 })
    for (const token of [first, second]) {
      const after = await hub.request('GET', '/api/nodes', { token })
      expect(after.status).toBe(401)
    }
    expect((await hub.request('POST', '/api/auth/login', { body: { username: 'promoted', password: passwords.get('promoted') } })).status).toBe(401)
    expect((await hub.request('DELETE', '/api/users/promoted', { token: owner })).status).toBe(404)
  })

  it('records every invitation, join, role change and removal in the audit log, without the token', async () => {
    const entries = (await hub.request('GET', '/api/audit?limit=1000', { token: owner })).body.entries as Array<{ action: string; target: string; actor: string; details?: unknown }>
    const actions = new Set(entries.map((e) => e.action))
    for (const action of ['user.invite', 'user.join', 'user.role', 'user.remove', 'user.invitation-revoke']) expect(actions, action).toContain(action)
    expect(entries.find((e) => e.action === 'user.role' && e.target === 'user:promoted')).toMatchObject({ actor: 'admin', details: { from: 'viewer', to: 'operator' } })
    const text = JSON.stringify(entries)
    for (const secret of secrets) expect(text).not.toContain(secret)
  })

  it('never writes an invitation token, a chosen password or a session token to its log', async () => {
    await sleep(200)
    const log = hub.proc.output()
    for (const secret of secrets) expect(log).not.toContain(secret)
  })
})

describe('invitation links behind a reverse proxy', () => {
  it('use the publicUrl the hub is reached at, not the address the request came in on', async () => {
    const proxied = await startHub({ storage: 'memory', config: { publicUrl: 'https://fleet.example.com/' } })
    try {
      const token = await proxied.login()
      const reply = await proxied.request('POST', '/api/invitations', { token, body: { role: 'viewer' } })
      expect(reply.status).toBe(201)
      expect(reply.body.url).toBe(`https://fleet.example.com/#/invite/${reply.body.token}`)
    } finally {
      await proxied.stop()
    }
  }, 60_000)
})
