// `thresh stack` as a user types it, against the local Docker engine (in-process, output captured).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCommand } from 'citty'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import stack from '../../cli/commands/stack.ts'
import { connectDocker, freePort, httpText, uniqueName } from '../support/docker.ts'

const dir = mkdtempSync(join(tmpdir(), 'thresh-cli-stack-'))
const name = uniqueName('tcli')
let port: number
let file: string

async function thresh(...rawArgs: string[]): Promise<{ stdout: string; stderr: string; error?: Error }> {
  let stdout = ''
  let stderr = ''
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true))
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true))
  try {
    await runCommand(stack, { rawArgs })
    return { stdout, stderr }
  } catch (error) {
    return { stdout, stderr, error: error as Error }
  } finally {
    outSpy.mockRestore()
    errSpy.mockRestore()
  }
}

beforeAll(async () => {
  // The CLI's own notes (why a stack was rolled back) go to a home of this test's.
  process.env.THRESH_HOME = join(dir, 'home')
  await connectDocker()
  port = await freePort()
  file = join(dir, 'stack.json')
  writeFileSync(
    file,
    JSON.stringify({
      name,
      services: [
        { name: 'db', image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${port}:8080`] },
        { name: 'api', image: 'docker:thresh-test/busybox:1', dependsOn: ['db'], env: { DB: '${db.host}:${db.port}' } },
      ],
    }),
  )
})

afterAll(async () => {
  await thresh('destroy', name, '--yes')
})

describe('thresh stack', () => {
  it('validate lists every problem with its path and fails with one sentence', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ name: 'Bad', services: { a: { ports: ['x'] } } }))
    const result = await thresh('validate', bad)
    expect(result.stderr).toContain('services.a.ports[0]: Expected "host:container"')
    expect(result.stderr).toContain('services.a.image: The service needs an image')
    expect(result.error?.message).toBe(`${bad} is not a valid stack: 3 problems, listed above`)
  })

  it('plan --json shows levels and resolved env without touching Docker', async () => {
    const result = await thresh('plan', file, '--json')
    const plan = JSON.parse(result.stdout)
    expect(plan.levels).toEqual([['db'], ['api']])
    expect(plan.services[1].env).toEqual({ DB: 'db:8080' })
  })

  it('up shows progress per service, then info, list and destroy see the stack', async () => {
    const up = await thresh('up', file)
    expect(up.error).toBeUndefined()
    expect(up.stdout).toMatch(/✓ db +running[\s\S]*✓ api +running/)
    expect(await httpText(`http://127.0.0.1:${port}/version.txt`)).toBe('1')

    const info = JSON.parse((await thresh('info', name, '--json')).stdout)
    expect(info).toMatchObject({ name, status: 'running' })
    expect((await thresh('list')).stdout).toMatch(new RegExp(`${name} +running +local +2/2`))

    expect((await thresh('down', name)).stdout).toContain('is stopped; its volumes are kept')
    expect((await thresh('destroy', name)).error?.message).toContain('pass --yes to confirm')
    expect((await thresh('destroy', name, '--yes')).stdout).toContain(`Stack ${name} is destroyed.`)
    expect((await thresh('info', name)).error?.message).toBe(`No stack named ${name} on the local Docker engine`)
  })

  it('up rolls a failed redeploy back and says why; --no-rollback keeps what started; --rollback-on-failure leaves nothing of a failed first deploy', async () => {
    const rbName = uniqueName('tclirb')
    const rbPort = await freePort()
    const write = (fail: string, stackName = rbName) => {
      const path = join(dir, `${stackName}-${fail}.json`)
      writeFileSync(path, JSON.stringify({ name: stackName, services: { web: { image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${rbPort}:8080`], env: { FAIL: fail } } } }))
      return path
    }
    try {
      expect((await thresh('up', write('0'))).error).toBeUndefined()
      const failed = await thresh('up', write('1'))
      expect(failed.error?.message).toMatch(new RegExp(`^Stack ${rbName} was rolled back \\(it runs as it did before\\): web: exited with status 3`))
      expect(await httpText(`http://127.0.0.1:${rbPort}/env.txt`)).toContain('FAIL=0')
      expect(JSON.parse((await thresh('info', rbName, '--json')).stdout)).toMatchObject({ status: 'running', rolledBack: expect.stringMatching(/^web: exited with status 3/) })
      expect((await thresh('info', rbName)).stdout).toMatch(/Stack \S+: running\nLast deploy: rolled back: web: exited with status 3/)
      expect((await thresh('list')).stdout).toMatch(new RegExp(`${rbName} +running \\(rolled back\\) +local`))

      expect((await thresh('up', write('1'), '--no-rollback', '--rollback-on-failure')).error?.message).toMatch(/contradict each other/)
      const kept = await thresh('up', write('1'), '--no-rollback')
      expect(kept.error?.message).toMatch(new RegExp(`^Stack ${rbName} failed: web: exited with status 3`))
      // The failed container is kept, stopped, for its logs: nothing was put back.
      expect(JSON.parse((await thresh('info', rbName, '--json')).stdout).services).toMatchObject([{ name: 'web', status: 'stopped' }])
    } finally {
      await thresh('destroy', rbName, '--yes')
    }

    const first = uniqueName('tclirf')
    const none = await thresh('up', write('1', first), '--rollback-on-failure')
    expect(none.error?.message).toMatch(new RegExp(`^Stack ${first} was rolled back \\(nothing of it was left behind\\): web: `))
    expect((await thresh('info', first)).error?.message).toBe(`No stack named ${first} on the local Docker engine`)
  })

  it('with --hub and no login, says how to log in instead of silently acting locally', async () => {
    expect((await thresh('list', '--hub', 'https://127.0.0.1:1')).error?.message).toBe(
      'Not logged in to https://127.0.0.1:1: run thresh auth login --hub https://127.0.0.1:1 (or set THRESH_CLI_TOKEN).',
    )
  })
})
