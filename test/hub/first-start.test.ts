// The first start of a hub and the recovery of its admin password, as a user meets them: a first
// start that cannot bind its port creates nothing (so the next start still prints the one-time
// password), and `thresh admin reset-password` on the hub's machine prints a new one-time password.
import { createServer, type Server } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { thresh } from '../cli/cli.ts'
import { freePort, spawnThresh, tempHome, waitForOutput, type ThreshProcess } from '../support/process.ts'

const running: ThreshProcess[] = []
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()))
})

function hub(home: string, port: number): ThreshProcess {
  const proc = spawnThresh('node', ['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port)], { THRESH_HOME: home, THRESH_ADMIN_PASSWORD: '' })
  running.push(proc)
  return proc
}

async function login(port: number, password: string): Promise<{ status: number; body: { mustChangePassword?: boolean } }> {
  const response = await fetch(`http://127.0.0.1:${port}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) })
  return { status: response.status, body: (await response.json()) as { mustChangePassword?: boolean } }
}

const oneTimePassword = (output: string) => /One-time password: (\S+)/.exec(output)?.[1]

describe('the first start and the admin password', () => {
  it('a first start on a busy port creates no admin; the next start prints the one-time password', async () => {
    const home = tempHome('thresh-first-start-')
    const port = await freePort()
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    const failed = hub(home, port)
    expect(await failed.exited).not.toBe(0)
    expect(failed.output()).toContain(`Port ${port} is already in use`)
    expect(failed.output()).not.toContain('One-time password')
    await new Promise<void>((resolve) => blocker.close(() => resolve()))

    const second = hub(home, port)
    await waitForOutput(second, 'One-time password: ', 60_000)
    const password = oneTimePassword(second.output())!
    const answer = await login(port, password)
    expect(answer.status).toBe(200)
    expect(answer.body.mustChangePassword).toBe(true)
    // The box says how to recover it.
    expect(second.output()).toContain('thresh admin reset-password')
    await second.stop()
  }, 120_000)

  it('thresh admin reset-password prints a new one-time password; the old one stops working', async () => {
    const home = tempHome('thresh-reset-')
    const port = await freePort()
    const first = hub(home, port)
    await waitForOutput(first, 'One-time password: ', 60_000)
    const old = oneTimePassword(first.output())!
    // While the hub runs, its embedded database is in use: refused with the reason, nothing changed.
    const busy = await thresh(['admin', 'reset-password'], { THRESH_HOME: home })
    expect(busy.code).not.toBe(0)
    expect(busy.stderr.trim().split('\n')).toHaveLength(1)
    expect(await first.stop()).toBe(0)

    const reset = await thresh(['admin', 'reset-password'], { THRESH_HOME: home })
    expect(reset.code, reset.stderr).toBe(0)
    const fresh = /New one-time password for 'admin': (\S+)/.exec(reset.stdout)?.[1]
    expect(fresh).toBeTruthy()
    expect(fresh).not.toBe(old)
    expect(reset.stdout).toContain('must be changed at the next login')

    const again = hub(home, port)
    await waitForOutput(again, 'hub listening on', 60_000)
    expect(again.output()).not.toContain('One-time password')
    expect((await login(port, old)).status).toBe(401)
    const answer = await login(port, fresh!)
    expect(answer.status).toBe(200)
    expect(answer.body.mustChangePassword).toBe(true)
    await again.stop()

    const nobody = await thresh(['admin', 'reset-password', '--user', 'nobody'], { THRESH_HOME: home })
    expect(nobody.code).not.toBe(0)
    expect(nobody.stderr).toContain("No user named 'nobody' on this hub")
    const empty = await thresh(['admin', 'reset-password'], { THRESH_HOME: tempHome('thresh-reset-empty-') })
    expect(empty.code).not.toBe(0)
    expect(empty.stderr).toContain('This hub has no users yet')
  }, 180_000)
})
