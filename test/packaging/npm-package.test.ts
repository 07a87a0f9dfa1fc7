// Install without a clone (issue #12): `npm pack` makes a tarball that `npm install -g` installs (into a
// temporary --prefix), and the installed `thresh` works from any directory: --version, and a hub that
// serves its API and dashboard; on Deno, the installed entry runs too.
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { denoBin, freePort, repoRoot, tempHome, waitForHttp } from '../support/process.ts'
import { requireTool } from '../support/require.ts'

requireTool('deno')

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> }
const prefix = tempHome('thresh-global-')
const elsewhere = tempHome('thresh-elsewhere-')
const thresh = join(prefix, 'bin', 'thresh')
const installed = join(prefix, 'lib', 'node_modules', pkg.name)
const children: Array<ReturnType<typeof spawn>> = []

beforeAll(() => {
  const packs = tempHome('thresh-pack-')
  // --ignore-scripts: dist/ is built by the test run's global setup; rebuilding it here would rewrite
  // files other tests are running.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packs], { cwd: repoRoot, stdio: 'pipe' })
  const [tarball] = readdirSync(packs)
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-fund', '--no-audit', join(packs, tarball!)], { cwd: elsewhere, stdio: 'pipe' })
}, 240_000)

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
})

describe('npm install -g of the packed tarball', () => {
  it('is named for npm as thresh-fleet and installs the thresh command', () => {
    expect(pkg.name).toBe('thresh-fleet')
    expect(Object.keys(pkg.bin)).toEqual(['thresh'])
    expect(execFileSync(thresh, ['--version'], { cwd: elsewhere, encoding: 'utf8' }).trim()).toBe(pkg.version)
  })

  it('runs a hub from another directory, with its API and dashboard', async () => {
    const port = await freePort()
    const home = tempHome('thresh-global-hub-')
    const hub = spawn(thresh, ['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--storage', 'memory'], {
      cwd: elsewhere,
      env: { ...process.env, NO_COLOR: '1', THRESH_HOME: home, THRESH_ADMIN_PASSWORD: 'global-install-horse-battery' },
      stdio: 'ignore',
    })
    children.push(hub)
    const url = `http://127.0.0.1:${port}`
    await waitForHttp(`${url}/health`, undefined, 60_000)
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'Healthy' })
    const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'global-install-horse-battery' }) })
    expect(login.status).toBe(200)
    const page = await fetch(`${url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<html')
    hub.kill('SIGTERM')
  }, 90_000)

  it('runs on Deno from the installed entry', () => {
    const out = execFileSync(denoBin, ['run', '-A', '--node-modules-dir=manual', join(installed, 'bin', 'thresh.mjs'), '--version'], {
      cwd: elsewhere,
      encoding: 'utf8',
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
    })
    expect(out.trim()).toBe(pkg.version)
  }, 60_000)

  it('ships the single-file agent, so a hub installed from npm can hand it to nodes', () => {
    expect(readdirSync(join(installed, 'dist'))).toContain('thresh-agent.mjs')
  })
})
