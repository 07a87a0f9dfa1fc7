// The README's quick start and "typical fleet", run as written on fresh THRESH_HOMEs. The code blocks
// are read from README.md itself, so the test breaks when the README and the product drift apart. What
// a reader adapts, this test adapts the same way, and only that: `npx thresh` is this checkout's CLI;
// the placeholders `sha256:…`, `thresh_mid_…` and `thresh_live_…` become what the earlier commands
// printed; hub.example and midtier.example are this machine (localhost), their ports free ones; every
// "# on the … machine" section has its own THRESH_HOME (and HOME, for `~`); a password asked on a
// terminal is given on stdin. No --insecure, no tls-verify false, no NODE_EXTRA_CA_CERTS.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../support/fleet.ts'
import { freePort, repoRoot, tempHome } from '../support/process.ts'

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
const cli = `${process.execPath} ${join(repoRoot, 'bin/thresh.mjs')}`

interface Background {
  output(): string
  stop(): Promise<void>
}
const background: Background[] = []
afterAll(async () => {
  await Promise.all(background.map((b) => b.stop()))
})

/** Runs README lines in order: servers in the background (until they listen), the rest to completion. */
function shell(vars: Record<string, string>) {
  const captured: Record<string, string> = {}
  let env: Record<string, string> = {}
  const adapt = (line: string) => {
    let out = line.replace(/\s+#\s[^'"]*$/, '').replace(/\bnpx thresh\b/g, cli)
    for (const [from, to] of Object.entries({ ...vars, ...captured })) out = out.split(from).join(to)
    return out
  }
  const run = async (raw: string, stdin?: string): Promise<string> => {
    const line = adapt(raw)
    expect(line).not.toMatch(/…/)
    const childEnv = { ...process.env, NO_COLOR: '1', NODE_EXTRA_CA_CERTS: '', THRESH_PORT: '', ...env }
    if (/ run --role | start-fleet|npm start/.test(line)) {
      const child = spawn('bash', ['-c', line], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      let output = ''
      child.stdout.on('data', (c) => (output += c))
      child.stderr.on('data', (c) => (output += c))
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      background.push({
        output: () => output,
        async stop() {
          if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM')
          await exited
        },
      })
      await eventually(`'${raw}' to serve`, () => {
        if (child.exitCode !== null) throw new Error(output)
        return /listening on|Connected to/.test(output)
      }, 90_000, 200).catch((error) => {
        throw new Error(`${(error as Error).message}\n${output}`)
      })
      return output
    }
    const result = spawnSync('bash', ['-c', line], { env: childEnv, input: stdin, encoding: 'utf8', timeout: 90_000 })
    expect(result.status, `${raw}\n${result.stdout}${result.stderr}`).toBe(0)
    return result.stdout + result.stderr
  }
  return {
    captured,
    run,
    machine(home: string) {
      env = { THRESH_HOME: home, HOME: home }
    },
  }
}

const lines = (block: string) => block.split('\n').filter((l) => l.trim())

describe('README', () => {
  it('quick start: npm start, then the login it shows, pinned, with no certificate switch', async () => {
    const block = blocks.find((b) => b.includes('npm start'))!
    const login = blocks.find((b) => b.includes('auth login --hub https://127.0.0.1:7200'))!
    const port = String(await freePort())
    const home = tempHome('thresh-readme-quick-')
    const sh = shell({ '127.0.0.1:7200': `127.0.0.1:${port}` })
    sh.machine(home)
    // `npm install` is done (this checkout's node_modules); the second line installs the test machine.
    const start = lines(block)[0]!.replace(/^npm install && /, '').replace(/\s+#.*$/, '')
    expect(start).toBe('npm start')
    const fleet = await sh.run(`cd ${repoRoot} && THRESH_PORT=${port} ${start}`)
    await eventually('the local agent connected', () => background.at(-1)!.output().includes('Connected to https://'), 60_000)
    const password = /admin password \(shown once\): (\S+)/.exec(background.at(-1)!.output())?.[1]
    expect(password, fleet).toBeTruthy()
    sh.captured['sha256:…'] = (await eventually('the fingerprint', () => /fleet CA fingerprint: (sha256:[0-9a-f]{64})/.exec(background.at(-1)!.output())))[1]!
    const cliHome = tempHome('thresh-readme-quick-cli-')
    sh.machine(cliHome)
    // At a terminal the password is asked for; here it comes on stdin.
    const out = await sh.run(`${lines(login)[0]} --password-stdin`, password)
    expect(out).toContain('Logged in to https://127.0.0.1:')
    expect(await sh.run('npx thresh node list')).toMatch(/online/)
    await background.pop()!.stop()
  }, 240_000)

  it('typical fleet: hub, mid-tier and a node, each on its own machine (THRESH_HOME), all pinned', async () => {
    const block = blocks.find((b) => b.includes('# on the hub machine'))!
    const [hubPort, midPort] = [String(await freePort()), String(await freePort())]
    const sh = shell({ 'hub.example:7200': `localhost:${hubPort}`, 'midtier.example:5000': `localhost:${midPort}`, 'run --role hub': `run --role hub --port ${hubPort} --storage memory`, 'run --role midtier': `run --role midtier --port ${midPort}` })
    let section = ''
    for (const line of lines(block)) {
      if (line.startsWith('#')) {
        section = line
        sh.machine(tempHome('thresh-readme-machine-'))
        continue
      }
      const out = await sh.run(line)
      if (line.includes('run --role hub')) {
        const printed = await eventually('the hub to print its fingerprint', () => /Fleet CA fingerprint: (sha256:[0-9a-f]{64})/.exec(background.at(-1)!.output()), 30_000)
        sh.captured['sha256:…'] = printed[1]!
      }
      if (line.includes('--type midtier')) sh.captured['thresh_mid_…'] = /thresh_mid_\S+/.exec(out)![0]
      if (line.includes('--type agent')) sh.captured['thresh_live_…'] = /thresh_live_\S+/.exec(out)![0]
      if (line.includes('run --role midtier')) await eventually('the mid-tier connected to the hub', () => background.at(-1)!.output().includes('Connected to the hub'), 60_000)
      if (line.includes('agent start')) expect(out).toContain(`connected to https://localhost:${midPort}`)
    }
    expect(section).toBe('# on every node')
    expect(await sh.run('npx thresh agent status')).toContain('Status: Connected ✓')
    await sh.run('npx thresh agent stop')
    for (const b of background) expect(b.output()).not.toMatch(/insecure|tls-verify false|NODE_EXTRA_CA_CERTS/i)
  }, 300_000)
})
