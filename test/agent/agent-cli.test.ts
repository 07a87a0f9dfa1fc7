// `thresh agent config set` + `thresh agent start|status|failover|failback|stop` as a user runs them:
// real processes, the agent in the background with its pidfile and log file in THRESH_HOME.
import { existsSync, readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, spawnThresh, tempHome, type Runtime } from '../support/process.ts'
import { AGENT_KEY, startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'
import { waitFor } from './agent-helpers.ts'
import { ensureFleetCa, issueServingCert } from '../../lib/tls.ts'

const servers: AgentTestServer[] = []
const homes: string[] = []
afterAll(async () => {
  // Never leave a background agent behind, whatever failed.
  for (const home of homes) {
    const pidfile = join(home, 'agent.pid')
    if (existsSync(pidfile)) {
      try {
        process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(servers.map((s) => s.stop()))
})

async function thresh(home: string, args: string[], runtime: Runtime = 'node'): Promise<{ code: number | null; out: string }> {
  // Port 0: the agent's status endpoint takes any free loopback port and records it in THRESH_HOME.
  const proc = spawnThresh(runtime, args, { THRESH_HOME: home, THRESH_PORT: '0' })
  const code = await proc.exited
  return { code, out: proc.output() }
}

describe('thresh agent start, status and stop', () => {
  it('runs the agent in the background and shows its live state', async () => {
    const primary = await startAgentTestServer()
    const fallback = await startAgentTestServer()
    servers.push(primary, fallback)
    const home = tempHome('thresh-agent-cli-')
    homes.push(home)
    for (const [key, value] of [
      ['midtier-url', primary.url],
      ['fallback-url', fallback.url],
      ['api-key', AGENT_KEY],
      ['metrics-interval', '1s'],
      ['reconnect-delay', '200ms'],
    ]) {
      expect((await thresh(home, ['agent', 'config', 'set', key!, value!])).code).toBe(0)
    }

    const notRunning = await thresh(home, ['agent', 'status'])
    expect(notRunning.code).toBe(3)
    expect(notRunning.out).toContain('Stopped')

    const started = await thresh(home, ['agent', 'start'])
    expect(started.out).toContain('Agent started in the background')
    expect(started.code).toBe(0)
    const pid = Number(readFileSync(join(home, 'agent.pid'), 'utf8'))
    expect(pid).toBeGreaterThan(0)

    const twice = await thresh(home, ['agent', 'start'])
    expect(twice.code).not.toBe(0)
    expect(twice.out).toContain(`already running (pid ${pid})`)

    const json = await waitFor(
      async () => JSON.parse((await thresh(home, ['agent', 'status', '--json'])).out) as Record<string, unknown>,
      (s) => s.state === 'connected' && s.lastReportAt !== null,
      'a connected agent that has reported',
    )
    expect(json).toMatchObject({ running: true, hubUrl: primary.url, transport: 'signalr', pid, reconnectCount: 0 })
    const agentId = json.agentId as string
    expect(primary.connected(agentId)).toBe(true)

    const text = await thresh(home, ['agent', 'status'])
    expect(text.code).toBe(0)
    for (const line of [`Agent ID: ${agentId}`, 'Status: Connected ✓', `Hub URL: ${primary.url}`, 'Transport: SignalR', 'Uptime: ', 'Last Report: ', 'Reconnect Count: 0']) {
      expect(text.out).toContain(line)
    }

    const over = await thresh(home, ['agent', 'failover'])
    expect(over.out).toContain(`Connected to ${fallback.url} (fallback)`)
    expect((await thresh(home, ['agent', 'status'])).out).toContain(`Hub URL: ${fallback.url} (fallback)`)
    const back = await thresh(home, ['agent', 'failback'])
    expect(back.out).toContain(`Connected to ${primary.url} (primary)`)

    await primary.stop()
    const down = await waitFor(async () => (await thresh(home, ['agent', 'status'])).out, (out) => out.includes('Status: Disconnected'), 'a disconnected status')
    expect(down).toMatch(/Status: Disconnected: .+/)
    await primary.start()

    const stopped = await thresh(home, ['agent', 'stop'])
    expect(stopped.out).toContain(`Agent stopped (pid ${pid})`)
    expect(existsSync(join(home, 'agent.pid'))).toBe(false)
    expect(() => process.kill(pid, 0)).toThrow()
    expect(readFileSync(join(home, 'agent.log'), 'utf8')).toContain('Connected to')
    expect((await thresh(home, ['agent', 'stop'])).out).toContain('not running')
  }, 90_000)

  it('refuses manual failover without a fallback-url, with the reason', async () => {
    const hub = await startAgentTestServer()
    servers.push(hub)
    const home = tempHome('thresh-agent-cli-')
    homes.push(home)
    await thresh(home, ['agent', 'config', 'set', 'midtier-url', hub.url])
    await thresh(home, ['agent', 'config', 'set', 'api-key', AGENT_KEY])
    expect((await thresh(home, ['agent', 'start'])).code).toBe(0)
    const refused = await thresh(home, ['agent', 'failover'])
    expect(refused.code).not.toBe(0)
    expect(refused.out).toContain('No fallback-url is configured')
    expect((await thresh(home, ['agent', 'stop'])).code).toBe(0)
  }, 60_000)
})

describe('thresh agent start waits for the connection; status exits non-zero unless connected', () => {
  /** As a user runs it: no port anywhere, so the status endpoint is the Unix socket in THRESH_HOME. */
  async function run(home: string, args: string[]): Promise<{ code: number | null; out: string }> {
    const proc = spawnThresh('node', args, { THRESH_HOME: home, THRESH_PORT: '' })
    const code = await proc.exited
    return { code, out: proc.output() }
  }
  async function configured(url: string, key = AGENT_KEY, extra: string[][] = []): Promise<string> {
    const home = tempHome('thresh-agent-wait-')
    homes.push(home)
    for (const [name, value] of [['midtier-url', url], ['api-key', key], ['reconnect-delay', '300ms'], ...extra]) {
      expect((await run(home, ['agent', 'config', 'set', name!, value!])).code).toBe(0)
    }
    return home
  }

  it('two agents on one machine, each on its own socket in THRESH_HOME, no port to collide; start returns connected', async () => {
    const server = await startAgentTestServer()
    servers.push(server)
    const [one, two] = [await configured(server.url), await configured(server.url)]
    for (const home of [one, two]) {
      const started = await run(home, ['agent', 'start'])
      expect(started.code, started.out).toBe(0)
      expect(started.out).toContain(`connected to ${server.url}`)
      expect(existsSync(join(home, 'agent.sock'))).toBe(true)
      expect(JSON.parse(readFileSync(join(home, 'agent.runtime.json'), 'utf8')).url).toBe(`unix:${join(home, 'agent.sock')}`)
      const status = await run(home, ['agent', 'status'])
      expect(status.code).toBe(0)
      expect(status.out).toContain('Status: Connected ✓')
    }
    await server.stop()
    const down = await waitFor(() => run(one, ['agent', 'status']), (r) => r.out.includes('Status: Disconnected'), 'a disconnected status')
    expect(down.code).toBe(1)
    await server.start()
    for (const home of [one, two]) expect((await run(home, ['agent', 'stop'])).code).toBe(0)
    expect((await run(one, ['agent', 'status'])).code).toBe(3)
  }, 90_000)

  it('an unreachable server: start fails after --wait with the reason, the agent keeps retrying', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const home = await configured(closed)
    const started = await run(home, ['agent', 'start', '--wait', '2'])
    expect(started.code).not.toBe(0)
    expect(started.out).toContain(`is not connected after 2 s — ${closed} is unreachable: connect ECONNREFUSED`)
    expect((await run(home, ['agent', 'status'])).code).toBe(1)
    expect((await run(home, ['agent', 'stop'])).code).toBe(0)
  }, 60_000)

  it('a rejected key and a revoked key are named as such', async () => {
    const server = await startAgentTestServer()
    servers.push(server)
    const unknown = await configured(server.url, 'thresh_live_acct1_ffffffffffffffffffffffffffffffff')
    const rejected = await run(unknown, ['agent', 'start', '--wait', '20'])
    expect(rejected.code).not.toBe(0)
    expect(rejected.out).toContain('the server rejected its key')
    expect(rejected.out).toContain('Missing or unknown agent key')
    expect((await run(unknown, ['agent', 'stop'])).code).toBe(0)

    server.revoke()
    const revokedHome = await configured(server.url)
    const revoked = await run(revokedHome, ['agent', 'start', '--wait', '20'])
    expect(revoked.code).not.toBe(0)
    expect(revoked.out).toContain('its key was revoked')
    expect((await run(revokedHome, ['agent', 'stop'])).code).toBe(0)
  }, 90_000)

  it('a server whose certificate does not chain to the pinned CA: TLS, with both fingerprints', async () => {
    const ca = await ensureFleetCa(tempHome('thresh-agent-ca-'))
    const server = createHttpsServer(await issueServingCert(ca, ['127.0.0.1']), (_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`
    const pin = `sha256:${'12'.repeat(32)}`
    try {
      const home = await configured(url, AGENT_KEY, [['hub-fingerprint', pin]])
      const started = await run(home, ['agent', 'start', '--wait', '3'])
      expect(started.code).not.toBe(0)
      expect(started.out).toContain(`TLS: Wrong fingerprint: the server at ${url} presents a certificate from CA ${ca.fingerprint}, but this client is pinned to ${pin}`)
      const status = await run(home, ['agent', 'status'])
      expect(status.code).toBe(1)
      expect(status.out).toContain('Status: TLS: Wrong fingerprint')
      expect((await run(home, ['agent', 'stop'])).code).toBe(0)
    } finally {
      server.close()
    }
  }, 60_000)
})
