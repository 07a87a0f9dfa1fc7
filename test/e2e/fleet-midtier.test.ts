// The fleet end to end with real processes: a hub, a mid-tier and three agents (own THRESH_HOME
// each). Nodes and live metrics appear through the hub's API; the metric series stays whole when the
// mid-tier is killed with -9 and when the hub is away for a while; a revoked key drops its agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHub, createMidtier, eventually, largestGap, pointTimes, startAgent, type HubProcess, type MidtierProcess, type RunningAgent } from './support.ts'

let hub: HubProcess
let mid: MidtierProcess
let token: string
let liveKey: string
let ownKey: { id: string; key: string }
const agents: RunningAgent[] = []

const METRICS_INTERVAL_MS = 300
// A hole is a gap of 3 s or more. An agent on a loaded 2-core CI machine can pause for more than a few
// intervals without losing anything, so every outage below lasts at least 4 s: a lost outage is a
// gap longer than this, and a pause is not.
const MAX_GAP_MS = 3000

/** Samples from before `from` to near `until` with no hole in between. */
const whole = (times: number[], from: number, until: number) =>
  times.length > 0 && times[0]! <= from + MAX_GAP_MS && times.at(-1)! >= until - MAX_GAP_MS && largestGap(times) < MAX_GAP_MS

async function nodes(): Promise<Array<Record<string, any>>> {
  const reply = await hub.request('GET', '/api/nodes', { token })
  return Array.isArray(reply.body) ? reply.body : (reply.body?.nodes ?? [])
}

async function seriesTimes(agentId: string, from: number, to: number): Promise<number[]> {
  const reply = await hub.request('GET', `/api/nodes/${agentId}/metrics?from=${from - 1000}&to=${to + 1000}`, { token })
  return pointTimes(reply.body?.points ?? [], from, to)
}

beforeAll(async () => {
  hub = await createHub()
  token = await hub.login()
  liveKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'e2e-agents' } })).body.key
  ownKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'e2e-revoked' } })).body
  const midKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'midtier', name: 'e2e-mid' } })).body.key
  mid = await createMidtier(hub.url, midKey)
  const config = { midtierUrl: mid.url, metricsInterval: `${METRICS_INTERVAL_MS}ms`, reconnectDelay: '300ms' }
  agents.push(
    ...(await Promise.all([
      startAgent({ ...config, apiKey: liveKey, nodeName: 'e2e-node-1' }),
      startAgent({ ...config, apiKey: liveKey, nodeName: 'e2e-node-2' }),
      startAgent({ ...config, apiKey: ownKey.key, nodeName: 'e2e-node-3' }),
    ])),
  )
}, 120_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.proc.stop('SIGKILL')))
  await mid?.kill()
  await hub?.kill()
})

describe('hub + mid-tier + 3 agents', () => {
  it('shows the three nodes online through the hub API, with live metrics, relayed by the mid-tier', async () => {
    const ids = await Promise.all(agents.map(async (a) => (await a.until('connected')).agentId))
    const online = await eventually('three online nodes', async () => {
      const list = await nodes()
      const ours = list.filter((n) => ids.includes(n.id) && n.status === 'online')
      return ours.length === 3 ? ours : undefined
    })
    for (const node of online) expect(String(node.connectionTier)).toMatch(/^midtier-/)
    const since = Date.now()
    for (const id of ids) await eventually(`metrics of ${id}`, async () => (await seriesTimes(id, since - 5000, Date.now())).length >= 2)
    expect(await mid.metric('midtier_agents_connected')).toBe(3)
    expect(await mid.metric('midtier_hub_connected')).toBe(1)
    expect(await mid.metric('midtier_metrics_batches_sent')).toBeGreaterThan(0)
  })

  it('loses no metric samples when the mid-tier is killed with -9 and restarted', async () => {
    const agentId = (await agents[0]!.status()).agentId
    // Samples pile up in the mid-tier's buffer (long interval), then it dies.
    const from = Date.now()
    await mid.kill()
    await mid.start({ THRESH_BATCH_INTERVAL: '10s' })
    await Promise.all(agents.map((a) => a.until('connected', undefined, 20_000)))
    await new Promise((r) => setTimeout(r, 4000))
    await mid.kill()
    const downFor = 4000
    await new Promise((r) => setTimeout(r, downFor))
    await mid.start()
    await Promise.all(agents.map((a) => a.until('connected', undefined, 20_000)))
    await new Promise((r) => setTimeout(r, 1500))
    const until = Date.now() - 500

    // Samples the agent took while the mid-tier was down and samples the mid-tier held when it died
    // all arrive: the series has no hole, and about one sample per interval.
    const times = await eventually('the whole series', async () => {
      const t = await seriesTimes(agentId, from - 1000, until)
      return whole(t, from, until) ? t : undefined
    }, 40_000)
    expect(times.length).toBeGreaterThanOrEqual(Math.floor(((until - from) / METRICS_INTERVAL_MS) * 0.6))
    expect((await agents[0]!.status()).droppedMetrics).toBe(0)
    expect(await mid.metric('midtier_metrics_dropped_total')).toBe(0)
  }, 120_000)

  it('buffers while the hub is down and delivers every sample once it is back', async () => {
    const agentId = (await agents[1]!.status()).agentId
    await new Promise((r) => setTimeout(r, 1000))
    const downAt = Date.now()
    await hub.kill()
    await eventually('the mid-tier to notice', async () => (await mid.metric('midtier_hub_connected')) === 0, 10_000)
    await new Promise((r) => setTimeout(r, 4000))
    expect(await mid.metric('midtier_metrics_buffered')).toBeGreaterThan(10)
    // The agents never noticed: they stay connected to the mid-tier.
    for (const a of agents) expect((await a.status()).state).toBe('connected')
    await hub.start()
    await eventually('the mid-tier to reconnect', async () => (await mid.metric('midtier_hub_connected')) === 1, 30_000)
    await eventually('the buffer to empty', async () => (await mid.metric('midtier_metrics_buffered')) < 10, 10_000)
    const until = Date.now() - 1000
    const from = downAt - 1000
    let seen: number[] = []
    const times = await eventually('the whole series across the outage', async () => {
      seen = await seriesTimes(agentId, from - 1000, until)
      return whole(seen, from, until) ? seen : undefined
    }, 20_000).catch(async (error: Error) => {
      const refused = await mid.metric('midtier_metrics_refused_total')
      throw new Error(`${error.message}; points at ${JSON.stringify(seen.map((t) => t - from))} of [0, ${until - from}] ms; refused ${refused}\n${mid.proc.output().slice(-3000)}`)
    })
    expect(times.length).toBeGreaterThanOrEqual(Math.floor(((until - from) / METRICS_INTERVAL_MS) * 0.6))
    expect(await mid.metric('midtier_metrics_dropped_total')).toBe(0)
  }, 120_000)

  it('disconnects an agent within 60 s of its key being revoked, and its status says why', async () => {
    const revoked = agents[2]!
    await revoked.until('connected', undefined, 20_000)
    const started = Date.now()
    expect((await hub.request('DELETE', `/api/keys/${ownKey.id}`, { token })).status).toBeLessThan(300)
    const status = await revoked.until('auth_error', undefined, 60_000)
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(status.reason).toMatch(/401|revoked|unknown/i)
    expect(await mid.metric('midtier_agents_connected')).toBe(2)
    // The others carry on.
    for (const a of agents.slice(0, 2)) expect((await a.status()).state).toBe('connected')
  })
})
