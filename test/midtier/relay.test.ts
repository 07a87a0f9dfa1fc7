// The mid-tier between agents and a hub: registration, batched metrics, commands both ways,
// buffering while the hub is away, revoked keys, drain on shutdown, several mid-tiers per hub.
import { afterEach, describe, expect, it } from 'vitest'
import { loadTlsMaterial } from '../../lib/tls.ts'
import { tempHome } from '../support/process.ts'
import type { RunningRole } from '../../roles/start-role.ts'
import { createRestPollAgentClient, createSignalRAgentClient, type AgentTransportClient } from '../../lib/agent-session/agent/index.ts'
import { addKey, startTestHub, type TestHub } from './test-hub.ts'
import { agentInfo, metric, sample, startMidtier, waitFor } from './helpers.ts'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {})
})

async function hub(): Promise<TestHub> {
  const h = await startTestHub()
  cleanup.push(() => h.close())
  return h
}

async function midtier(h: { url: string; state: TestHub['state'] }, fields: Record<string, unknown> = {}, home?: string): Promise<RunningRole> {
  const mid = await startMidtier(h.url, addKey(h, 'mid'), fields, home)
  cleanup.push(() => mid.stop())
  return mid
}

async function signalrAgent(url: string, apiKey: string, agentId: string): Promise<AgentTransportClient> {
  const client = createSignalRAgentClient({ url, apiKey, transports: ['WebSockets'], reconnectDelayMs: 50, maxReconnectDelayMs: 200 })
  cleanup.push(() => client.close())
  await client.connect(agentInfo(agentId))
  return client
}

const seqsOf = (h: TestHub, agentId: string) => h.state.samples.filter((s) => s.agentId === agentId).map((s) => s.uptimeSeconds)
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('mid-tier relay', () => {
  it('refuses to start with a key that is not a mid-tier key, saying why', async () => {
    const h = await hub()
    await expect(startMidtier(h.url, addKey(h, 'live'))).rejects.toThrow(/refuses to start: its api-key is an agent key/)
    await expect(startMidtier(h.url, '')).rejects.toThrow(/needs a mid-tier key/)
  })

  it('agents on SignalR and on REST polling appear on the hub and their metrics arrive in batches', async () => {
    const h = await hub()
    const mid = await midtier(h, { batchInterval: '200ms' })
    const key = addKey(h, 'live')
    const a = await signalrAgent(mid.url, key, 'mt-sig-1')
    const rest = createRestPollAgentClient({ url: mid.url, apiKey: key, agentId: 'mt-rest-1', waitSeconds: 1, reconnectDelayMs: 50, maxReconnectDelayMs: 200 })
    cleanup.push(() => rest.close())
    await rest.connect(agentInfo('mt-rest-1'))

    await waitFor('both nodes on the hub', () => h.state.nodes.get('mt-sig-1')?.online && h.state.nodes.get('mt-rest-1')?.online)
    expect(h.state.nodes.get('mt-sig-1')!.keyId).toBe(h.state.keys.get(key)!.keyId)
    for (let i = 0; i < 5; i++) {
      await a.sendMetrics(sample('mt-sig-1', i))
      await rest.sendMetrics(sample('mt-rest-1', i))
    }
    await waitFor('all samples', () => seqsOf(h, 'mt-sig-1').length === 5 && seqsOf(h, 'mt-rest-1').length === 5)
    expect(seqsOf(h, 'mt-sig-1')).toEqual(range(0, 5))
    expect(await metric(mid.url, 'midtier_agents_connected')).toBe(2)
    expect(await metric(mid.url, 'midtier_hub_connected')).toBe(1)
    // 10 samples within a 200 ms window go out as a few batches, not one call each.
    expect(await metric(mid.url, 'midtier_metrics_batches_sent')).toBeLessThan(10)
    expect(await (await fetch(`${mid.url}/health`)).json()).toEqual({ status: 'Healthy' })
  })

  it('a full batch goes out at once without waiting for the interval', async () => {
    const h = await hub()
    const mid = await midtier(h, { batchInterval: '60s', batchSize: 4 })
    const a = await signalrAgent(mid.url, addKey(h, 'live'), 'mt-size-1')
    for (let i = 0; i < 4; i++) await a.sendMetrics(sample('mt-size-1', i))
    await waitFor('the full batch', () => seqsOf(h, 'mt-size-1').length === 4, 3000)
    await a.sendMetrics(sample('mt-size-1', 4))
    await new Promise((r) => setTimeout(r, 300))
    expect(seqsOf(h, 'mt-size-1')).toHaveLength(4)
    expect(await metric(mid.url, 'midtier_metrics_buffered')).toBe(1)
  })

  it('routes hub commands to the agent and returns its result; an offline agent gets an error result', async () => {
    const h = await hub()
    const mid = await midtier(h, { commandTimeout: '500ms' })
    const a = await signalrAgent(mid.url, addKey(h, 'live'), 'mt-cmd-1')
    a.onCommand((command) => ({ success: true, output: `ran ${command.tool}` }))
    await waitFor('the node', () => h.state.nodes.get('mt-cmd-1')?.online)

    const result = await h.command('mt-cmd-1', { commandId: 'c-1', tool: 'get_version', arguments: {} })
    expect(result).toMatchObject({ agentId: 'mt-cmd-1', commandId: 'c-1', success: true, output: 'ran get_version' })

    // The agent goes away just as the hub sends it a command.
    const connectionId = h.router.connectionFor('acct1', 'mt-cmd-1')!
    await a.close()
    const started = Date.now()
    h.router.send(connectionId, 'mt-cmd-1', { commandId: 'c-2', tool: 'get_version', arguments: {} })
    await waitFor('the offline error result', async () => (await metric(mid.url, 'midtier_commands_offline_total')) === 1, 3000)
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('buffers metrics while the hub is down and delivers every one once it is back', async () => {
    let h = await startTestHub()
    const port = h.port
    const state = h.state
    cleanup.push(() => h.close())
    const mid = await midtier(h, { batchInterval: '100ms' }, undefined)
    const a = await signalrAgent(mid.url, addKey(h, 'live'), 'mt-down-1')
    await a.sendMetrics(sample('mt-down-1', 0))
    await waitFor('the first sample', () => state.samples.length === 1)

    await h.close()
    await waitFor('the mid-tier to notice', async () => (await metric(mid.url, 'midtier_hub_connected')) === 0)
    for (let i = 1; i <= 20; i++) await a.sendMetrics(sample('mt-down-1', i))
    await new Promise((r) => setTimeout(r, 300))
    expect(await metric(mid.url, 'midtier_metrics_buffered')).toBe(20)

    h = await startTestHub({ port, state })
    await waitFor('all 21 samples', () => seqsOf(h, 'mt-down-1').length >= 21, 15_000)
    expect(seqsOf(h, 'mt-down-1')).toEqual(range(0, 21))
    expect(await metric(mid.url, 'midtier_metrics_buffered')).toBe(0)
    expect(await metric(mid.url, 'midtier_metrics_dropped_total')).toBe(0)
    expect(h.state.nodes.get('mt-down-1')?.online).toBe(true)
  })

  it('relays container events from SignalR and REST agents, in order, holding them while the hub is down', async () => {
    let h = await startTestHub()
    const port = h.port
    const state = h.state
    state.events = []
    cleanup.push(() => h.close())
    const mid = await midtier(h, { batchInterval: '100ms' }, undefined)
    const key = addKey(h, 'live')
    const a = await signalrAgent(mid.url, key, 'mt-events-1')
    const b = createRestPollAgentClient({ url: mid.url, apiKey: key, agentId: 'mt-events-2', waitSeconds: 1, reconnectDelayMs: 50, maxReconnectDelayMs: 200 })
    cleanup.push(() => b.close())
    await b.connect(agentInfo('mt-events-2'))
    const at = new Date().toISOString()
    await a.sendEvents([{ type: 'container_die', at, container: 'web-1', stack: 'web', exitCode: 137 }])
    await b.sendEvents([{ type: 'container_oom', at, container: 'db-1' }])
    await waitFor('both events', () => state.events!.length === 2)
    expect(state.events!.find((e) => e.agentId === 'mt-events-1')?.events).toEqual([{ type: 'container_die', at, container: 'web-1', stack: 'web', exitCode: 137 }])

    await h.close()
    await waitFor('the mid-tier to notice', async () => (await metric(mid.url, 'midtier_hub_connected')) === 0)
    for (let i = 0; i < 5; i++) await a.sendEvents([{ type: 'container_start', at: new Date().toISOString(), container: `web-${i}` }])
    h = await startTestHub({ port, state })
    await waitFor('the buffered events', () => state.events!.length === 7, 15_000)
    expect(state.events!.slice(2).map((e) => (e.events[0] as { container: string }).container)).toEqual(['web-0', 'web-1', 'web-2', 'web-3', 'web-4'])

    // A malformed event list is refused at the edge, naming the field.
    await expect(a.sendEvents([{ type: 'container_exploded', at } as never])).rejects.toThrow(/type/)
  })

  it('a full buffer drops the oldest samples and counts them', async () => {
    const h = await startTestHub()
    const { port, state } = h
    cleanup.push(() => h.close())
    const mid = await midtier(h, { bufferSize: 5 })
    const a = await signalrAgent(mid.url, addKey(h, 'live'), 'mt-drop-1')
    await waitFor('the node', () => state.nodes.get('mt-drop-1')?.online)
    await h.close()
    await waitFor('the mid-tier to notice', async () => (await metric(mid.url, 'midtier_hub_connected')) === 0)
    for (let i = 0; i < 12; i++) await a.sendMetrics(sample('mt-drop-1', i))
    expect(await metric(mid.url, 'midtier_metrics_dropped_total')).toBe(7)
    expect(await metric(mid.url, 'midtier_metrics_buffered')).toBe(5)
    const back = await startTestHub({ port, state })
    cleanup.push(() => back.close())
    await waitFor('the newest five', () => seqsOf(back, 'mt-drop-1').length === 5, 15_000)
    expect(seqsOf(back, 'mt-drop-1')).toEqual(range(7, 12))
  })

  it('an agent whose key is revoked is disconnected within the key cache time and cannot come back', async () => {
    const h = await hub()
    const mid = await midtier(h, { keyCacheTtl: '1s' })
    const revoked = addKey(h, 'live')
    const kept = addKey(h, 'live')
    const a = await signalrAgent(mid.url, revoked, 'mt-rev-1')
    await signalrAgent(mid.url, kept, 'mt-rev-2')
    const states: string[] = []
    a.onStateChange((s) => states.push(s))
    h.revoke(revoked)
    const started = Date.now()
    await waitFor('the revoked agent to be dropped', async () => (await metric(mid.url, 'midtier_agents_connected')) === 1, 5000)
    expect(Date.now() - started).toBeLessThan(2500)
    expect(states).toContain('reconnecting')
    // Its reconnect is refused; the other agent stays.
    const res = await fetch(`${mid.url}/api/agent/register`, { method: 'POST', headers: { authorization: `Bearer ${revoked}`, 'content-type': 'application/json' }, body: JSON.stringify(agentInfo('mt-rev-1')) })
    expect(res.status).toBe(401)
    expect(await metric(mid.url, 'midtier_agents_connected')).toBe(1)
    await waitFor('the hub to see it offline', () => h.state.nodes.get('mt-rev-1')?.online === false)
  })

  it('the hub can disconnect an agent through its mid-tier', async () => {
    const h = await hub()
    const mid = await midtier(h)
    await signalrAgent(mid.url, addKey(h, 'live'), 'mt-kick-1')
    await waitFor('the node', () => h.state.nodes.get('mt-kick-1')?.online)
    h.router.disconnectAgent('acct1', 'mt-kick-1', 'The key was revoked.')
    await waitFor('the agent to be dropped', async () => (await metric(mid.url, 'midtier_agents_revoked_total')) === 1, 3000)
  })

  it('refuses agents with unknown keys or keys of another kind', async () => {
    const h = await hub()
    const mid = await midtier(h)
    const post = (key: string) =>
      fetch(`${mid.url}/api/agent/register`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(agentInfo('mt-bad-1')) })
    expect((await post('thresh_live_acct1_unknownsecret0000')).status).toBe(401)
    expect((await post(addKey(h, 'mid'))).status).toBe(403)
    expect((await post(addKey(h, 'live', 'otheraccount'))).status).toBe(401)
  })

  it('drains buffered metrics to the hub when it shuts down', async () => {
    const h = await hub()
    const mid = await startMidtier(h.url, addKey(h, 'mid'), { batchInterval: '60s' })
    const a = await signalrAgent(mid.url, addKey(h, 'live'), 'mt-drain-1')
    for (let i = 0; i < 7; i++) await a.sendMetrics(sample('mt-drain-1', i))
    expect(seqsOf(h, 'mt-drain-1')).toHaveLength(0)
    await mid.stop('SIGTERM')
    expect(seqsOf(h, 'mt-drain-1')).toEqual(range(0, 7))
  })

  it('several mid-tiers share one hub, and commands reach the mid-tier holding the agent', async () => {
    const h = await hub()
    const one = await midtier(h)
    const two = await midtier(h)
    const a = await signalrAgent(one.url, addKey(h, 'live'), 'mt-multi-1')
    const b = await signalrAgent(two.url, addKey(h, 'live'), 'mt-multi-2')
    a.onCommand(() => ({ success: true, output: 'one' }))
    b.onCommand(() => ({ success: true, output: 'two' }))
    await waitFor('both nodes', () => h.state.nodes.get('mt-multi-1')?.online && h.state.nodes.get('mt-multi-2')?.online)
    expect(h.state.nodes.get('mt-multi-1')!.tier).not.toBe(h.state.nodes.get('mt-multi-2')!.tier)
    expect((await h.command('mt-multi-2', { commandId: 'm-2', tool: 'get_version', arguments: {} })).output).toBe('two')
    expect((await h.command('mt-multi-1', { commandId: 'm-1', tool: 'get_version', arguments: {} })).output).toBe('one')
  })

  it('reaches an HTTPS hub with a self-signed certificate only when tls-verify is off', async () => {
    const tls = (await loadTlsMaterial({ enabled: true }, tempHome('thresh-midtier-tls-'), { fleetCa: true }))!
    const h = await startTestHub({ tls })
    cleanup.push(() => h.close())
    const trusting = await midtier(h, { tlsVerify: false })
    const key = addKey(h, 'live')
    const a = await signalrAgent(trusting.url, key, 'mt-tls-1')
    await a.sendMetrics(sample('mt-tls-1', 0))
    await waitFor('the sample over HTTPS', () => seqsOf(h, 'mt-tls-1').length === 1)

    const strict = await midtier(h)
    await new Promise((r) => setTimeout(r, 500))
    expect(await metric(strict.url, 'midtier_hub_connected')).toBe(0)
    // It cannot ask the hub about keys either, so new agents are told the hub is unavailable.
    const res = await fetch(`${strict.url}/agenthub/negotiate?negotiateVersion=1`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
    expect(res.status).toBe(503)
  })
})
