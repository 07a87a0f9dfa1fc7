// Boots every role as a real process under Node and under Deno and checks the same behaviours:
// health, metrics, a third-party plugin's route, a WebSocket echo through the adapter, TLS with the
// certificate kept in the data dir, graceful shutdown, and one clear sentence for each kind of bad input.
import { readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { freePort, repoRoot, spawnThresh, tempHome, waitForHttp, waitForOutput, type Runtime } from '../support/process.ts'
import { requireTool } from '../support/require.ts'

const runtimes: Runtime[] = ['node', 'deno']
// A mid-tier needs a hub; an unreachable one is enough for it to serve while it keeps retrying.
const midtierArgs = ['--hub-url', 'http://127.0.0.1:9', '--api-key', 'thresh_mid_test_0123456789abcdef']
const roleArgs: Record<string, string[]> = { hub: ['--storage', 'memory'], midtier: midtierArgs, agent: [] }
requireTool('deno')

function httpsGet(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca, headers }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
      .on('error', reject)
      .end()
  })
}

function wsEcho(url: string, message: string, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ca ? { ca } : {})
    ws.once('open', () => ws.send(message))
    ws.once('message', (data) => {
      resolve(String(data))
      ws.close()
    })
    ws.once('error', reject)
  })
}

describe.each(runtimes)('on %s', (runtime) => {
  it.each(['hub', 'midtier', 'agent'])('the %s role serves /health and /metrics and stops cleanly on SIGTERM', async (role) => {
    const port = await freePort()
    const proc = spawnThresh(runtime, ['run', '--role', role, '--no-tls', '--port', String(port), '--host', '127.0.0.1', ...roleArgs[role]!], { THRESH_HOME: tempHome() })
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, proc)
      const health = await fetch(`http://127.0.0.1:${port}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: 'Healthy' })
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(metrics.headers.get('content-type')).toContain('text/plain')
      expect(await metrics.text()).toMatch(/^thresh_up 1$/m)
      const missing = await fetch(`http://127.0.0.1:${port}/no-such-route`)
      expect(missing.status).toBe(404)
      expect(await missing.json()).toMatchObject({ error: 'not_found' })
    } finally {
      expect(await proc.stop('SIGTERM')).toBe(0)
    }
  })

  it('loads a third-party plugin from config over TLS: its route, a WebSocket echo, and its teardown on SIGTERM', async () => {
    const home = tempHome()
    const port = await freePort()
    const configPath = join(home, 'thresh.json')
    writeFileSync(configPath, JSON.stringify({ host: '127.0.0.1', plugins: [join(repoRoot, 'examples/hello-plugin/index.ts')], helloGreeting: 'hej', metricsToken: 'hello-scraper' }))
    const proc = spawnThresh(runtime, ['run', '--role', 'hub', '--config', configPath, '--port', String(port)], { THRESH_HOME: home })
    try {
      await waitForOutput(proc, 'listening on ')
      const ca = readFileSync(join(home, 'tls/cert.pem'), 'utf8')
      const hello = await httpsGet(`https://127.0.0.1:${port}/hello/ada`, ca)
      expect(hello.status).toBe(200)
      expect(JSON.parse(hello.body)).toEqual({ message: 'hej, ada', runtime })
      expect(await wsEcho(`wss://127.0.0.1:${port}/hello-ws`, 'ping', ca)).toBe('echo: ping')
      // The plugin's counter shows up on the role's /metrics.
      expect((await httpsGet(`https://127.0.0.1:${port}/metrics`, ca, { authorization: 'Bearer hello-scraper' })).body).toMatch(/^hello_greetings_total 1$/m)
    } finally {
      expect(await proc.stop('SIGTERM')).toBe(0)
    }
    expect(proc.output()).toContain('hello plugin stopped')
  })

  it("takes a third-party plugin's own setting from the environment, and a flag over it", async () => {
    const home = tempHome()
    const configPath = join(home, 'thresh.json')
    writeFileSync(configPath, JSON.stringify({ host: '127.0.0.1', plugins: [[join(repoRoot, 'examples/hello-plugin/index.ts'), { route: '/hi' }]], helloGreeting: 'from the file' }))
    const greet = async (flags: string[]) => {
      const port = await freePort()
      const proc = spawnThresh(runtime, ['run', '--role', 'hub', '--storage', 'memory', '--no-tls', '--config', configPath, '--port', String(port), ...flags], { THRESH_HOME: home, THRESH_HELLO_GREETING: 'from env' })
      try {
        await waitForHttp(`http://127.0.0.1:${port}/health`, proc)
        return ((await (await fetch(`http://127.0.0.1:${port}/hi/ada`)).json()) as { message: string }).message
      } finally {
        expect(await proc.stop('SIGTERM')).toBe(0)
      }
    }
    expect(await greet([])).toBe('from env, ada')
    expect(await greet(['--hello-greeting=hola'])).toBe('hola, ada')

    const bad = spawnThresh(runtime, ['run', '--role', 'hub', '--storage', 'memory', '--no-tls', '--config', configPath, '--hello-greeting=<script>'], { THRESH_HOME: home })
    expect(await bad.exited).not.toBe(0)
    expect(bad.output()).toContain("command line: field 'hello-greeting' must be up to 40 letters, spaces and punctuation")
  })

  it('keeps the self-signed certificate across restarts', async () => {
    const home = tempHome()
    for (let i = 0; i < 2; i++) {
      const port = await freePort()
      const proc = spawnThresh(runtime, ['run', '--role', 'midtier', '--port', String(port), '--host', '127.0.0.1', ...midtierArgs], { THRESH_HOME: home })
      await waitForOutput(proc, 'listening on ')
      const ca = readFileSync(join(home, 'tls/cert.pem'), 'utf8')
      expect((await httpsGet(`https://127.0.0.1:${port}/health`, ca)).body).toBe('{"status":"Healthy"}')
      expect(await proc.stop()).toBe(0)
    }
  })

  describe('bad input exits non-zero with one sentence naming the culprit', () => {
    const runBad = async (args: string[], files: Record<string, string> = {}) => {
      const home = tempHome()
      for (const [name, text] of Object.entries(files)) writeFileSync(join(home, name), text)
      const proc = spawnThresh(runtime, args.map((a) => a.replace('$HOME', home)), { THRESH_HOME: home })
      const code = await proc.exited
      return { code, output: proc.output().trim() }
    }

    it('an unknown role', async () => {
      const { code, output } = await runBad(['run', '--role', 'toaster', '--no-tls'])
      expect(code).not.toBe(0)
      expect(output).toContain("[thresh] Unknown role 'toaster': choose one of hub, midtier, agent.")
    })

    it('a malformed config file', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--config', '$HOME/broken.json'], { 'broken.json': '{ "port": 80,' })
      expect(code).not.toBe(0)
      expect(output).toMatch(/Config file .*broken\.json is not valid JSON/)
    })

    it('an invalid config value', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--config', '$HOME/c.json'], { 'c.json': '{ "port": "eighty" }' })
      expect(code).not.toBe(0)
      expect(output).toMatch(/c\.json: field 'port' must be a number/)
    })

    it("another role's setting, refused with the settings this role has", async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--storage', 'memory', '--hub-url', 'https://hub.example:7200'])
      expect(code).not.toBe(0)
      expect(output).toMatch(/command line: unknown field 'hub-url' \(valid fields: .*offlineAfter/)
    })

    it('an admin password under 12 characters, without echoing it', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--config', '$HOME/c.json'], { 'c.json': '{ "storage": "memory", "adminPassword": "pw-x9q" }' })
      expect(code).not.toBe(0)
      expect(output).toContain("field 'adminPassword' must be a password of at least 12 characters (got a value that is not shown)")
      expect(output).not.toContain('pw-x9q')
    })

    it('a plugin that declares a setting another plugin owns', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--storage', 'memory', '--config', '$HOME/c.json'], {
        'c.json': '{ "plugins": ["./greedy.mjs"] }',
        'greedy.mjs': "export default () => ({ name: 'greedy', config: { offlineAfter: { type: 'duration', description: 'mine' } }, setup() {} })",
      })
      expect(code).not.toBe(0)
      expect(output).toContain("Plugin 'greedy' declares setting 'offlineAfter', which plugin 'hub-fleet' already declares; rename one of them.")
    })

    it('an unloadable plugin', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--config', '$HOME/c.json'], { 'c.json': '{ "plugins": ["./missing-plugin.ts"] }' })
      expect(code).not.toBe(0)
      expect(output).toContain("Cannot load plugin './missing-plugin.ts' named in config field 'plugins'")
    })

    it('a plugin whose required service is missing', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--config', '$HOME/c.json'], {
        'c.json': '{ "plugins": ["./needy.mjs"] }',
        'needy.mjs': "export default () => ({ name: 'needy', requires: ['teleporter'], setup() {} })",
      })
      expect(code).not.toBe(0)
      expect(output).toContain("Plugin 'needy' requires service 'teleporter', which no earlier plugin provides.")
    })

    it('two plugins providing one service', async () => {
      const plugin = (name: string) => `export default () => ({ name: '${name}', provides: ['clock'], setup(ctx) { ctx.provide('clock', {}) } })`
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--config', '$HOME/c.json'], {
        'c.json': '{ "plugins": ["./a.mjs", "./b.mjs"] }',
        'a.mjs': plugin('clock-a'),
        'b.mjs': plugin('clock-b'),
      })
      expect(code).not.toBe(0)
      expect(output).toContain("Plugins 'clock-a' and 'clock-b' both provide service 'clock'")
    })

    it('a plugin that throws in setup, after tearing down what had started', async () => {
      const { code, output } = await runBad(['run', '--role', 'hub', '--no-tls', '--config', '$HOME/c.json'], {
        'c.json': '{ "plugins": ["./first.mjs", "./broken.mjs"] }',
        'first.mjs': "export default () => ({ name: 'first', setup(ctx) { return () => ctx.logger.info('first torn down') } })",
        'broken.mjs': "export default () => ({ name: 'broken', setup() { throw new Error('cannot reach the database') } })",
      })
      expect(code).not.toBe(0)
      expect(output).toContain("[thresh] [broken] Plugin 'broken' failed to start: cannot reach the database")
      expect(output).toContain('first torn down')
    })

    it('a mid-tier started without a hub', async () => {
      const { code, output } = await runBad(['run', '--role', 'midtier', '--no-tls'])
      expect(code).not.toBe(0)
      expect(output).toContain('The mid-tier needs its hub: pass --hub-url')
    })

    it('disabling a plugin the role does not have', async () => {
      const { code, output } = await runBad(['run', '--role', 'agent', '--config', '$HOME/c.json'], { 'c.json': '{ "disable": ["warp-drive"] }' })
      expect(code).not.toBe(0)
      expect(output).toContain("Config field 'disable' names plugin 'warp-drive', which role 'agent' does not have")
    })
  })
})
