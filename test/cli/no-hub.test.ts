// What remote commands say when there is no hub to talk to: no hub named, nobody to ask for a
// password, a hub that does not answer. Each is one sentence on stderr and a non-zero exit.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freePort, tempHome } from '../support/process.ts'
import { thresh, type CliResult } from './cli.ts'

function expectFailure(result: CliResult, text: RegExp): void {
  expect(result.code, result.stdout + result.stderr).not.toBe(0)
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1)
  expect(result.stderr).toMatch(text)
}

describe('remote commands without a hub', () => {
  it.each([['node', 'list'], ['keys', 'list'], ['cluster', 'list'], ['auth', 'login', '--username', 'admin', '--password-stdin']])(
    'thresh %s %s says how to name a hub',
    async (...args) => {
      expectFailure(await thresh(args, { THRESH_HOME: tempHome() }), /No hub given: pass --hub URL, log in with thresh auth login --hub URL, or set THRESH_HUB_URL\./)
    },
  )

  it('auth status and auth token say "not logged in" and exit 1', async () => {
    const status = await thresh(['auth', 'status'], { THRESH_HOME: tempHome() })
    expect(status).toMatchObject({ code: 1, stdout: 'Not logged in.\n' })
    expectFailure(await thresh(['auth', 'token'], { THRESH_HOME: tempHome() }), /Not logged in: run thresh auth login --hub URL first\./)
  })

  it('login without a terminal and without --password-stdin or --token says what scripts should pass', async () => {
    const port = await freePort()
    expectFailure(await thresh(['auth', 'login', '--hub', `http://127.0.0.1:${port}`], { THRESH_HOME: tempHome() }), /pass --username NAME --password-stdin, or --token thresh_cli_/)
  })

  it('login refuses a token that is not a CLI token without sending it anywhere', async () => {
    const port = await freePort()
    const result = await thresh(['auth', 'login', '--hub', `http://127.0.0.1:${port}`, '--token', 'thresh_live_acct_abcdefabcdefabcdef'], { THRESH_HOME: tempHome() })
    expectFailure(result, /a CLI token starts with thresh_cli_/)
    expect(result.stderr).not.toContain('abcdefabcdef')
  })

  it('a hub that does not answer is named, with the reason', async () => {
    const home = tempHome()
    const url = `http://127.0.0.1:${await freePort()}`
    writeFileSync(join(home, 'credentials.json'), JSON.stringify({ hubUrl: url, token: 'thresh_cli_x_0000000000000000' }))
    expectFailure(await thresh(['node', 'list'], { THRESH_HOME: home }), new RegExp(`^\\[thresh\\] Cannot reach the hub at ${url}: connection refused\\.$`, 'm'))
  })

  it('a hub URL that is not http(s) is refused', async () => {
    expectFailure(await thresh(['node', 'list', '--hub', 'ftp://hub.example'], { THRESH_HOME: tempHome() }), /'ftp:\/\/hub\.example' is not a hub URL/)
  })

  it('stack commands refuse --local and --hub together', async () => {
    expectFailure(await thresh(['stack', 'list', '--local', '--hub', 'http://127.0.0.1:1'], { THRESH_HOME: tempHome() }), /--local and --hub contradict each other/)
  })
})
