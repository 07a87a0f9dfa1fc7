// The single-file agent (issue #12): `npm run build:agent` makes dist/thresh-agent.mjs and the Node
// single executable; each, copied alone into an empty directory, connects to a real hub and shows up
// as an online node: the module on Node and on Deno, the executable with no Node on the PATH. And
// `thresh build --plugin` bakes a third-party plugin (examples/hello-plugin) into a custom agent.
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHub, eventually, listNodes, type HubProcess } from '../support/fleet.ts'
import { denoBin, freePort, repoRoot, tempHome } from '../support/process.ts'
import { requireTool } from '../support/require.ts'

requireTool('deno')

// `npm run build:agent` into a directory of its own: dist/ is what hubs in other tests serve.
const built = tempHome('thresh-build-agent-')
const bundle = join(built, 'thresh-agent.mjs')
const sea = join(built, `thresh-agent-${process.platform}-${process.arch}`)
let hub: HubProcess
let token: string
let key: string
const running: Array<ReturnType<typeof spawn>> = []

beforeAll(async () => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-agent.mjs'), '--out-dir', built], { cwd: repoRoot, stdio: 'pipe' })
  hub = await createHub({ storage: 'memory' })
  token = await hub.login()
  key = (await hub.createKey(token, 'agent', 'single-file')).key
}, 240_000)

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL')
  await hub?.kill()
})

/** A directory holding only `file`. */
function alone(file: string): string {
  const dir = tempHome('thresh-single-file-')
  copyFileSync(file, join(dir, file.split('/').pop()!))
  return dir
}

/** Starts an agent command in `dir` with its own THRESH_HOME; resolves with its output so far on demand. */
async function launch(command: string, args: string[], dir: string, env: Record<string, string> = {}): Promise<() => string> {
  const port = await freePort()
  const child = spawn(command, [...args, '--midtier-url', hub.url, '--api-key', key, '--port', String(port), '--metrics-interval', '1s', '--reconnect-delay', '300ms'], {
    cwd: dir,
    env: { NO_COLOR: '1', HOME: dir, THRESH_HOME: join(dir, 'home'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.push(child)
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  return () => output
}

async function online(name: string, output: () => string): Promise<Record<string, any>> {
  return eventually(`node ${name} online\n${output()}`, async () => (await listNodes(hub, token)).find((n) => n.name === name && n.status === 'online'), 60_000)
}

describe('thresh-agent.mjs (npm run build:agent)', () => {
  it('is one ES module under 3 MB', () => {
    expect(statSync(bundle).size).toBeLessThanOrEqual(3 * 1024 * 1024)
  })

  it('copied alone into an empty directory, connects to the hub on Node', async () => {
    const dir = alone(bundle)
    const output = await launch(process.execPath, ['thresh-agent.mjs', '--node-name', 'single-file-node'], dir)
    const node = await online('single-file-node', output)
    // Docker answered through the bundled (lazily loaded) dockerode.
    expect(node).toMatchObject({ containerRuntime: expect.stringMatching(/^docker/) })
    expect(readdirSync(dir).sort()).toEqual(['home', 'thresh-agent.mjs'])
  }, 90_000)

  it('copied alone into an empty directory, connects to the hub on Deno', async () => {
    const dir = alone(bundle)
    const output = await launch(denoBin, ['run', '-A', 'thresh-agent.mjs', '--node-name', 'single-file-deno'], dir, { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno') })
    await online('single-file-deno', output)
    expect(existsSync(join(dir, 'node_modules'))).toBe(false)
  }, 90_000)
})

describe('the single executable', () => {
  it('connects with no Node on the PATH', async () => {
    const dir = alone(sea)
    // Every tool of /usr/bin (df, …) but node, npm, npx and deno.
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    for (const tool of readdirSync('/usr/bin')) if (!/^(node|nodejs|npm|npx|deno|corepack)$/.test(tool)) symlinkSync(join('/usr/bin', tool), join(bin, tool))
    const PATH = `${bin}:/usr/sbin:/sbin`
    expect(() => execFileSync('node', ['--version'], { env: { PATH }, stdio: 'ignore' })).toThrow()
    const output = await launch(join(dir, sea.split('/').pop()!), ['--node-name', 'single-file-sea'], dir, { PATH })
    await online('single-file-sea', output)
  }, 90_000)
})

describe('thresh build --plugin', () => {
  it('bakes a third-party plugin into a custom agent that runs from an empty directory', async () => {
    const out = join(tempHome('thresh-build-'), 'custom-agent.mjs')
    execFileSync(process.execPath, [join(repoRoot, 'bin/thresh.mjs'), 'build', '--role', 'agent', '--plugin', join(repoRoot, 'examples/hello-plugin/index.ts'), '--out', out], { stdio: 'pipe' })
    const dir = alone(out)
    const output = await launch(process.execPath, ['custom-agent.mjs', '--node-name', 'single-file-custom', '--hello-greeting', 'hej'], dir)
    await online('single-file-custom', output)
    expect(output()).toContain("ready with greeting 'hej'")
  }, 90_000)

  it('refuses a role other than the agent and a plugin file that does not exist, naming them', () => {
    const run = (...args: string[]) => {
      try {
        execFileSync(process.execPath, [join(repoRoot, 'bin/thresh.mjs'), 'build', ...args], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } })
        return ''
      } catch (error) {
        return String((error as { stderr: Buffer }).stderr)
      }
    }
    expect(run('--role', 'hub')).toContain("not 'hub'")
    expect(run('--plugin', '/nonexistent/plugin.ts', '--out', join(tempHome(), 'x.mjs'))).toContain('/nonexistent/plugin.ts does not exist')
  })
})
