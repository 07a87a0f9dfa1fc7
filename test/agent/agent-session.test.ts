// A real agent process against a real agent server (the gateway behind /agenthub and REST polling):
// registration, metrics, reconnects with buffered samples, failover and failback, auth errors.
import { writeFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { startAgent, waitFor, type RunningAgent } from './agent-helpers.ts'
import { startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'

const agents: RunningAgent[] = []
const servers: AgentTestServer[] = []
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()))
  await Promise.all(servers.map((s) => s.stop()))
})

async function server(options?: Parameters<typeof startAgentTestServer>[0]) {
  const s = await startAgentTestServer(options)
  servers.push(s)
  return s
}
async function agent(config: Record<string, unknown>) {
  const a = await startAgent(config)
  agents.push(a)
  return a
}

describe('an agent connected over SignalR', () => {
  it('registers with its host facts and reports metrics with per-core CPU, memory and every disk', async () => {
    const hub = await server()
    const a = await agent({ midtierUrl: hub.url, nodeName: 'node-facts' })
    const status = await a.until('connected')
    expect(status).toMatchObject({ transport: 'signalr', hubUrl: hub.url, target: 'primary' })
    const registered = await waitFor(() => hub.events.registers.filter((r) => r.agent.agentId === status.agentId), (r) => r.length > 0, 'a registration')
    // Straight to WebSockets: no negotiate round trip, so a reconnecting fleet costs the server one request per agent.
    expect(hub.events.requests.filter((r) => r.endsWith('/negotiate'))).toEqual([])
    expect(hub.events.requests).toContain('GET /agenthub')
    expect(registered[0]!.agent).toMatchObject({ hostname: 'node-facts', threshVersion: '0.1.0', architecture: process.arch })
    expect(registered[0]!.agent.cpuCores).toBeGreaterThan(0)
    expect(registered[0]!.agent.diskTotalGb).toBeGreaterThan(0)

    const samples = await waitFor(() => hub.events.metrics.filter((m) => m.agentId === status.agentId), (m) => m.length >= 2, 'two metric samples')
    const sample = samples[1]!.metrics
    expect(sample.cpuPerCore.length).toBeGreaterThan(0)
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0)
    expect(sample.memoryTotalMB).toBeGreaterThan(0)
    expect(sample.disks.map((d) => d.mount)).toContain('/')
    expect(sample.disks.every((d) => d.totalGB > 0 && d.usedGB >= 0)).toBe(true)
    expect(sample).toHaveProperty('containersRunning')
    expect(Array.isArray(sample.containers)).toBe(true)
    expect(sample.uptimeSeconds).toBeGreaterThan(0)
    expect((sample as unknown as { versions: Record<string, string> }).versions.thresh).toBe('0.1.0')
    // The agent measures the event-loop stall of each collection itself and shows it in its status.
    const measured = await a.status()
    expect(measured.lastCollectStallMs).not.toBeNull()
    expect(measured.lastCollectStallMs).toBeTypeOf('number') // its bound is asserted in metrics-system.test.ts
  })
})

describe('an agent whose server goes away', () => {
  it.each(['signalr', 'rest'])('reconnects over %s after the server restarts, registers again and delivers the metrics taken meanwhile', async (transport) => {
    const hub = await server()
    const a = await agent({ midtierUrl: hub.url, transport, metricsInterval: '200ms', reconnectDelay: '400ms' })
    const { agentId } = await a.until('connected')
    await waitFor(() => hub.events.metrics.filter((m) => m.agentId === agentId).length, (n) => n >= 2, 'metrics before the outage')

    await hub.stop()
    const down = Date.now()
    const offline = await a.until('disconnected')
    expect(offline.reason).toBeTruthy()
    await waitFor(() => a.status(), (s) => s.bufferedMetrics >= 5, 'samples buffered while disconnected')
    const up = Date.now()
    await hub.start()

    const back = await a.until('connected')
    expect(back.reconnectCount).toBeGreaterThanOrEqual(1)
    expect(hub.events.registers.filter((r) => r.agent.agentId === agentId).length).toBeGreaterThanOrEqual(2)
    // Every sample taken during the outage arrives once the agent is back, oldest first.
    const fromOutage = await waitFor(
      () => hub.events.metrics.filter((m) => m.agentId === agentId && Date.parse(m.metrics.timestamp) > down && Date.parse(m.metrics.timestamp) < up),
      (list) => list.length >= 5,
      'the buffered samples',
    )
    const stamps = fromOutage.map((m) => Date.parse(m.metrics.timestamp))
    expect(stamps).toEqual([...stamps].sort((x, y) => x - y))
    await waitFor(() => a.status(), (s) => s.bufferedMetrics === 0, 'an empty buffer')
  })

  it('says why when the server refuses its key', async () => {
    const hub = await server()
    const a = await agent({ midtierUrl: hub.url })
    await a.until('connected')
    hub.revoke()
    const refused = await a.until('auth_error')
    expect(refused.reason).toBe('The server refused the agent key (401): This agent key was revoked.')
  })
})

describe('failover', () => {
  it('moves to the fallback when the primary is unreachable and back once the primary answers', async () => {
    const primary = await server()
    const fallback = await server()
    const a = await agent({ midtierUrl: primary.url, fallbackUrl: fallback.url, autoFailover: true, failbackDelay: '1s', reconnectDelay: '200ms' })
    const { agentId } = await a.until('connected', 'primary')

    await primary.stop()
    const moved = await a.until('connected', 'fallback')
    expect(moved).toMatchObject({ hubUrl: fallback.url, failovers: 1 })
    await waitFor(() => fallback.events.metrics.filter((m) => m.agentId === agentId).length, (n) => n > 0, 'metrics on the fallback')

    await primary.start()
    const returned = await a.until('connected', 'primary', 20_000)
    expect(returned.hubUrl).toBe(primary.url)
    await waitFor(() => primary.events.registers.filter((r) => r.agent.agentId === agentId).length, (n) => n >= 2, 'a registration on the returned primary')
    await waitFor(() => fallback.connected(agentId), (c) => !c, 'the fallback session to close', 10_000)
  })

  it('switches by hand with thresh agent failover and failback style requests, and stays without auto-failover', async () => {
    const primary = await server()
    const fallback = await server()
    const a = await agent({ midtierUrl: primary.url, fallbackUrl: fallback.url, autoFailover: false })
    await a.until('connected', 'primary')
    const asCli = { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }
    expect((await fetch(`${a.url}/api/agent/failover`, asCli)).status).toBe(200)
    await a.until('connected', 'fallback')
    expect((await fetch(`${a.url}/api/agent/failback`, asCli)).status).toBe(200)
    await a.until('connected', 'primary')
  })

  it('refuses a failover or failback that a web page on another site sends to the agent port', async () => {
    const primary = await server()
    const fallback = await server()
    const a = await agent({ midtierUrl: primary.url, fallbackUrl: fallback.url, autoFailover: false })
    await a.until('connected', 'primary')
    // What a form or fetch() on https://evil.example can send without a preflight.
    const fromPage = { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } }
    for (const path of ['/api/agent/failover', '/api/agent/failback']) {
      const refused = await fetch(a.url + path, fromPage)
      expect(refused.status).toBe(403)
      expect(await refused.json()).toMatchObject({ error: 'cross_site_refused', message: expect.stringContaining('refuses requests from web pages') })
    }
    // A JSON request still naming the foreign page (DNS rebinding, or a preflight someone granted) is refused too.
    const json = await fetch(`${a.url}/api/agent/failover`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', origin: 'https://evil.example' } })
    expect(json.status).toBe(403)
    // A browser's preflight gets no CORS grant.
    const preflight = await fetch(`${a.url}/api/agent/failover`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    // Without an Origin header, plain text is still not a switch request.
    const plain = await fetch(`${a.url}/api/agent/failover`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })
    expect(plain.status).toBe(415)
    expect(await a.status()).toMatchObject({ target: 'primary', hubUrl: primary.url, failovers: 0 })
    // A DNS-rebinding page reaches the port under its own host name: its reads of the status are refused.
    const read = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(`${a.url}/api/agent/status`)
        httpGet({ host: url.hostname, port: url.port, path: url.pathname, headers: { host } }, (res) => {
          res.resume()
          resolve(res.statusCode!)
        }).on('error', reject)
      })
    expect(await read(`evil.example:${new URL(a.url).port}`)).toBe(403)
    expect(await read(`127.0.0.1:${new URL(a.url).port}`)).toBe(200)
    expect(await read(`localhost:${new URL(a.url).port}`)).toBe(200)
  })
})

describe('an agent on REST polling', () => {
  it('registers, reports metrics and runs commands with transport rest', async () => {
    const hub = await server()
    const a = await agent({ midtierUrl: hub.url, transport: 'rest' })
    const { agentId, transport } = await a.until('connected')
    expect(transport).toBe('rest')
    expect(hub.events.registers.find((r) => r.agent.agentId === agentId)?.transport).toBe('rest')
    await waitFor(() => hub.events.metrics.filter((m) => m.agentId === agentId).length, (n) => n >= 2, 'metrics over REST')
    const result = await hub.send(agentId, { commandId: `rest-${Date.now()}`, tool: 'get_version', arguments: {} }, 15_000)
    expect(result).toMatchObject({ success: true })
    expect(JSON.parse(result.output)).toMatchObject({ agentId })
  })

  it('stays on SignalR without WebSockets under transport auto (SSE or long polling) and still runs commands', async () => {
    const hub = await server({ transports: ['ServerSentEvents', 'LongPolling'] })
    const a = await agent({ midtierUrl: hub.url })
    const { agentId, transport } = await a.until('connected')
    expect(transport).toBe('signalr')
    const result = await hub.send(agentId, { commandId: `nows-${Date.now()}`, tool: 'get_version', arguments: {} }, 15_000)
    expect(result.success).toBe(true)
  })

  it('falls back to REST polling under transport auto when the server offers no SignalR', async () => {
    const hub = await server({ transports: [] })
    const a = await agent({ midtierUrl: hub.url })
    expect((await a.until('connected')).transport).toBe('rest')
  })
})

describe('agent identity and config', () => {
  it('keeps its agent id across restarts and reads THRESH_HOME/agent.json under its config file', async () => {
    const hub = await server()
    const first = await agent({ midtierUrl: hub.url })
    const { agentId } = await first.until('connected')
    await first.stop()
    // As `thresh agent config set` writes it; the config file given on the command line wins.
    writeFileSync(join(first.home, 'agent.json'), JSON.stringify({ midtierUrl: 'http://127.0.0.1:9', nodeName: 'from-agent-json', transport: 'rest' }))
    const second = await startAgent({ midtierUrl: hub.url }, { home: first.home })
    agents.push(second)
    const status = await second.until('connected')
    expect(status.agentId).toBe(agentId)
    expect(status.transport).toBe('rest')
    const registered = hub.events.registers.filter((r) => r.agent.agentId === agentId)
    expect(registered.at(-1)!.agent.hostname).toBe('from-agent-json')
  })
})

describe('the agent on Deno', () => {
  it('registers, reports metrics with per-core CPU and disks, and runs a command', async () => {
    requireTool('deno')
    const hub = await server()
    const a = await startAgent({ midtierUrl: hub.url }, { runtime: 'deno' })
    agents.push(a)
    const { agentId } = await a.until('connected', undefined, 30_000)
    const samples = await waitFor(() => hub.events.metrics.filter((m) => m.agentId === agentId), (m) => m.length >= 2, 'metrics from the Deno agent')
    expect(samples[1]!.metrics.cpuPerCore.length).toBeGreaterThan(0)
    expect(samples[1]!.metrics.disks.map((d) => d.mount)).toContain('/')
    const result = await hub.send(agentId, { commandId: `deno-${Date.now()}`, tool: 'get_version', arguments: {} }, 15_000)
    expect(JSON.parse(result.output)).toMatchObject({ agentId, runtime: { name: 'deno' } })
  }, 60_000)
})
