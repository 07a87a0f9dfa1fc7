// The dashboard's live channel and the mid-tier's delivery guarantees against a real hub process on
// PostgreSQL: `/dashboardhub` (official SignalR client, CLI token) pushes an account's node events and
// metrics from agents on the hub and behind an external mid-tier; a metrics batch is acknowledged only
// once stored (a SIGKILL right after loses none of it); late results after AgentDisconnected count;
// a node's full last report survives a restart; `/api/*` JSON is gzipped.
import { request as httpRequest } from 'node:http'
import * as signalR from '@microsoft/signalr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentCommand } from '../../lib/agent-session/protocol.ts'
import { requireTool } from '../support/require.ts'
import { agentInfo, connectAgent, dropSchema, eventually, metricsSample, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

let hub: TestHub
let token: string
let liveKey: string
let midKey: string
const agents: TestAgent[] = []
const connections: signalR.HubConnection[] = []

const TARGETS = ['NodeRegistered', 'NodeUpdated', 'NodeOffline', 'NodeRemoved', 'NodeMetrics', 'StackServiceStatus', 'StackCommandResult']

async function dashboard(url: string, cliToken: string) {
  const events: Array<{ target: string; arg: any }> = []
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${url}/dashboardhub`, { accessTokenFactory: () => cliToken, transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build()
  for (const target of TARGETS) connection.on(target, (arg: unknown) => events.push({ target, arg }))
  await connection.start()
  connections.push(connection)
  const seen = (target: string, match: (arg: any) => boolean) => events.some((e) => e.target === target && match(e.arg))
  return { connection, events, seen }
}

async function midtier(url: string, onCommand?: (connection: signalR.HubConnection, agentId: string, command: AgentCommand) => void) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${url}/midtierhub`, { accessTokenFactory: () => midKey, transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build()
  if (onCommand) connection.on('ExecuteCommand', (agentId: string, command: AgentCommand) => onCommand(connection, agentId, command))
  await connection.start()
  connections.push(connection)
  return connection
}

beforeAll(async () => {
  // registrationBurst: the node-list test registers a few hundred nodes with one key at once.
  hub = await startHub({ storage: 'postgres', config: { registrationBurst: 1000, pluginOptions: { 'hub-ui': { keepAliveMs: 300 } } } })
  token = await hub.login()
  liveKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'dash-agents' } })).body.key
  midKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'midtier', name: 'dash-region' } })).body.key
}, 90_000)

afterAll(async () => {
  for (const c of connections) await c.stop().catch(() => {})
  for (const agent of agents) await agent.close().catch(() => {})
  await hub?.stop()
  await dropSchema(hub?.schema)
})

describe('the dashboard hub', () => {
  it("pushes a dashboard its own account's nodes and metrics live, from agents on the hub and behind a mid-tier", async () => {
    const mine = await dashboard(hub.url, token)
    const created = await hub.request('POST', '/api/accounts', { token, body: { name: 'dash-other', adminUser: 'dash-other-admin' } })
    const theirs = await dashboard(hub.url, await hub.login('dash-other-admin', created.body.password))

    const agent = await connectAgent(hub, liveKey, 'dash-near')
    agents.push(agent)
    await eventually(async () => mine.seen('NodeRegistered', (n) => n.id === agent.agentId && n.hostname === 'dash-near' && n.status === 'online'), 5000, 'NodeRegistered')
    await agent.client.sendMetrics({ ...metricsSample(agent.agentId, 33), cpuPerCore: [30, 36] })
    await eventually(async () => mine.seen('NodeMetrics', (m) => m.agentId === agent.agentId && m.cpuPercent === 33 && m.cpuPerCore.length === 2), 5000, 'NodeMetrics')

    const relay = await midtier(hub.url)
    await relay.invoke('RegisterMidTier', { midtierId: 'dash-eu' })
    await relay.invoke('RegisterAgents', [agentInfo('dash-far-1', 'dash-far')])
    expect(await relay.invoke('SendMetricsBatch', [metricsSample('dash-far-1', 71)])).toEqual({ accepted: 1 })
    await eventually(async () => mine.seen('NodeRegistered', (n) => n.id === 'dash-far-1' && n.connectionTier === 'midtier-dash-eu'), 5000, 'the far node registered')
    await eventually(async () => mine.seen('NodeMetrics', (m) => m.agentId === 'dash-far-1' && m.cpuPercent === 71), 5000, 'the far node metrics')

    expect((await hub.request('POST', '/api/clusters', { token, body: { name: 'dash-rack' } })).status).toBe(201)
    expect((await hub.request('POST', '/api/clusters/dash-rack/nodes', { token, body: { node: 'dash-far' } })).status).toBe(200)
    await eventually(async () => mine.seen('NodeUpdated', (n) => n.id === 'dash-far-1' && n.cluster === 'dash-rack'), 5000, 'NodeUpdated with the cluster')

    await relay.invoke('AgentDisconnected', 'dash-far-1')
    await eventually(async () => mine.seen('NodeOffline', (n) => n.agentId === 'dash-far-1'), 5000, 'NodeOffline')
    expect((await hub.request('DELETE', '/api/nodes/dash-far', { token })).status).toBe(200)
    await eventually(async () => mine.seen('NodeRemoved', (n) => n.agentId === 'dash-far-1'), 5000, 'NodeRemoved')

    expect(theirs.events).toEqual([])
  })

  it('refuses a dashboard without a CLI token, and closes it when its session ends', async () => {
    const negotiate = (bearer?: string) =>
      fetch(`${hub.url}/dashboardhub/negotiate?negotiateVersion=1`, { method: 'POST', headers: bearer ? { authorization: `Bearer ${bearer}` } : {} })
    expect((await negotiate()).status).toBe(401)
    expect((await negotiate(liveKey)).status).toBe(403)

    const session = await hub.login()
    const watcher = await dashboard(hub.url, session)
    const closed = new Promise<void>((resolve) => watcher.connection.onclose(() => resolve()))
    expect((await hub.request('DELETE', '/api/auth/sessions/current', { token: session })).status).toBe(200)
    await closed
    expect(watcher.connection.state).toBe(signalR.HubConnectionState.Disconnected)
  })
})

describe('the server-sent events fallback', () => {
  it('carries the same events as the dashboard hub at /ui/events, for the token in the query', async () => {
    expect((await fetch(`${hub.url}/ui/events`)).status).toBe(401)
    const abort = new AbortController()
    const response = await fetch(`${hub.url}/ui/events?access_token=${encodeURIComponent(token)}`, { signal: abort.signal })
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const until = async (check: () => boolean) => {
      while (!check()) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`the stream ended: ${text}`)
        text += value
      }
    }
    await until(() => text.includes('"target":"ready"'))
    const relay = await midtier(hub.url)
    await relay.invoke('RegisterAgents', [agentInfo('sse-agent', 'sse-node')])
    await relay.invoke('SendMetricsBatch', [metricsSample('sse-agent', 12)])
    const frame = () => text.split('\n\n').find((f) => f.includes('"NodeMetrics"') && f.includes('sse-agent'))
    await until(() => frame() !== undefined)
    const message = JSON.parse(frame()!.replace(/^data: /, ''))
    expect(message).toMatchObject({ target: 'NodeMetrics', arguments: [{ agentId: 'sse-agent', cpuPercent: 12, cpuPerCore: [12, 12] }] })
    abort.abort()
  })

  it('ends the stream when its session is logged out', async () => {
    const session = await hub.login()
    const response = await fetch(`${hub.url}/ui/events?access_token=${encodeURIComponent(session)}`)
    expect(response.status).toBe(200)
    expect((await hub.request('DELETE', '/api/auth/sessions/current', { token: session })).status).toBe(200)
    const reader = response.body!.getReader()
    while (!(await reader.read()).done);
  })
})

describe('a mid-tier talking to the hub', () => {
  it('may answer a command and update its services after reporting the agent gone', async () => {
    const relay = await midtier(hub.url, (connection, agentId, command) => {
      void (async () => {
        await connection.invoke('AgentDisconnected', agentId)
        await connection.invoke('StackServiceStatusUpdate', agentId, { stackId: 'none', serviceName: 'web', status: 'running', errorMessage: null })
        await connection.invoke('SendCommandResult', {
          agentId,
          commandId: command.commandId,
          status: 'success',
          success: true,
          output: JSON.stringify([{ name: 'late-box' }]),
          error: '',
          timestamp: new Date().toISOString(),
          durationMs: 3,
        })
      })()
    })
    await relay.invoke('RegisterAgents', [agentInfo('late-agent', 'late-node')])
    const blueprints = await hub.request('GET', '/api/nodes/late-node/blueprints', { token })
    expect(blueprints.status).toBe(200)
    expect(JSON.parse(blueprints.body.output)).toEqual([{ name: 'late-box' }])
    // A result for a command that never went through this mid-tier is still refused.
    await expect(relay.invoke('SendCommandResult', { agentId: 'late-agent', commandId: 'made-up', status: 'success', success: true, output: '', error: '' })).rejects.toThrow(/registered/)
  })

  it('has every acknowledged metrics sample and a node\'s full last report after the hub is killed and restarted', async () => {
    const agent = await connectAgent(hub, liveKey, 'detail-node')
    agents.push(agent)
    await agent.client.sendMetrics({ ...metricsSample(agent.agentId, 44), cpuPerCore: [40, 48, 41, 47], disks: [{ mount: '/srv', usedGB: 3, totalGB: 9 }], containers: ['web-1', 'db-1'] })
    await eventually(async () => (await hub.request('GET', '/api/nodes/detail-node', { token })).body.lastMetrics?.cpuPerCore?.length === 4, 5000, 'the detailed report')

    const relay = await midtier(hub.url)
    await relay.invoke('RegisterAgents', [agentInfo('durable-agent', 'durable-node')])
    const now = Date.now()
    const batch = Array.from({ length: 40 }, (_, i) => ({ ...metricsSample('durable-agent', i), timestamp: new Date(now - (40 - i) * 1000).toISOString() }))
    expect(await relay.invoke('SendMetricsBatch', batch)).toEqual({ accepted: 40 })
    await hub.proc.stop('SIGKILL')
    await relay.stop()
    await agent.close()

    hub = await startHub({ storage: 'postgres', home: hub.home, schema: hub.schema, config: { registrationBurst: 1000 } })
    token = await hub.login()
    const series = await hub.request('GET', `/api/nodes/durable-node/metrics?from=${now - 120_000}&to=${now + 1000}`, { token })
    expect(series.status).toBe(200)
    expect(series.body.resolution).toBe('raw')
    expect(series.body.points).toHaveLength(40)

    const node = await hub.request('GET', '/api/nodes/detail-node', { token })
    expect(node.body.lastMetrics).toMatchObject({ cpuPercent: 44, cpuPerCore: [40, 48, 41, 47], disks: [{ mount: '/srv', usedGB: 3, totalGB: 9 }], containers: ['web-1', 'db-1'] })
  }, 60_000)
})

describe('the REST API', () => {
  it('gzips JSON for clients that accept it, and the node list stays small for many nodes', async () => {
    const relay = await midtier(hub.url)
    await relay.invoke('RegisterAgents', Array.from({ length: 200 }, (_, i) => agentInfo(`gz-agent-${i}`, `gz-node-${i}`)))
    const raw = (path: string, encoding: string) =>
      new Promise<{ encoding: string | undefined; bytes: number; vary: string | undefined }>((resolve, reject) => {
        const url = new URL(hub.url + path)
        const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${token}`, 'accept-encoding': encoding } }, (res) => {
          let bytes = 0
          res.on('data', (chunk: Buffer) => (bytes += chunk.length))
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], bytes, vary: res.headers.vary }))
        })
        req.on('error', reject)
        req.end()
      })
    const plain = await raw('/api/nodes', 'identity')
    const gzipped = await raw('/api/nodes', 'gzip, deflate')
    expect(plain.encoding).toBeUndefined()
    expect(gzipped.encoding).toBe('gzip')
    expect(gzipped.vary).toMatch(/accept-encoding/i)
    expect(gzipped.bytes * 5).toBeLessThan(plain.bytes)
    expect((await raw('/api/openapi.json', 'gzip')).encoding).toBe('gzip')
    // And clients that decompress see the same JSON.
    expect((await hub.request('GET', '/api/nodes', { token })).body.nodes.length).toBeGreaterThanOrEqual(200)
  })
})
