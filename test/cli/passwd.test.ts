// The first admin's one-time password: `thresh auth login` says to change it, `thresh auth passwd`
// changes it, and the old one no longer logs in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, spawnThresh, tempHome, waitForHttp, waitForOutput, type ThreshProcess } from '../support/process.ts'
import { thresh } from './cli.ts'

let hub: ThreshProcess
let hubUrl: string
let oneTime: string

beforeAll(async () => {
  const port = await freePort()
  // No THRESH_ADMIN_PASSWORD: the hub makes up a one-time password and prints it once.
  hub = spawnThresh('node', ['run', '--role', 'hub', '--no-tls', '--storage', 'memory', '--host', '127.0.0.1', '--port', String(port)], {
    THRESH_HOME: tempHome(),
    THRESH_ADMIN_PASSWORD: '',
  })
  hubUrl = `http://127.0.0.1:${port}`
  await waitForHttp(`${hubUrl}/health`, hub)
  await waitForOutput(hub, 'One-time password: ')
  oneTime = /One-time password: (\S+)/.exec(hub.output())![1]!
})

afterAll(async () => {
  await hub?.stop()
})

describe('thresh auth passwd', () => {
  it('tells the admin to replace a one-time password, replaces it, and the old one stops working', async () => {
    const home = tempHome('thresh-cli-')
    const login = (password: string) =>
      thresh(['auth', 'login', '--hub', hubUrl, '--username', 'admin', '--password-stdin'], { THRESH_HOME: home }, { stdin: `${password}\n` })

    const first = await login(oneTime)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain('This is a one-time password: choose your own with thresh auth passwd.')

    const tooShort = await thresh(['auth', 'passwd', '--password-stdin'], { THRESH_HOME: home }, { stdin: `${oneTime}\nshort\n` })
    expect(tooShort.code).not.toBe(0)
    expect(tooShort.stderr).toContain('newPassword: must not be shorter than 12 characters')
    expect(tooShort.stderr).not.toMatch(/\n\s+at /)

    const changed = await thresh(['auth', 'passwd', '--password-stdin'], { THRESH_HOME: home }, { stdin: `${oneTime}\ncorrect-horse-battery\n` })
    expect(changed.code, changed.stderr).toBe(0)
    expect(changed.stdout).toContain('Password changed.')

    const old = await login(oneTime)
    expect(old.code).not.toBe(0)
    const fresh = await login('correct-horse-battery')
    expect(fresh.code, fresh.stderr).toBe(0)
    expect(fresh.stdout).not.toContain('one-time password')
  })
})
