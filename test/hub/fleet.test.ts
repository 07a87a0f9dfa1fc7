// The hub's fleet against a real hub process on PostgreSQL: nodes from RegisterAgent, metrics, offline
// detection, clusters, node tools, stack orchestration through a connected agent session (a test agent
// speaking the real protocol, answering deterministically), timeouts, and an external mid-tier.
import * as signalR from '@microsoft/signalr'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentCommand, CommandOutcome } from '../../lib/agent-session/agent/index.ts'
import process from 'node:process'
import { createSystemCollector } from '../../plugins/metrics-system/index.ts'
import { requireTool } from '../support/require.ts'
import { agentInfo, connectAgent, databaseUrl, dropSchema, eventually, metricsSample, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

let hub: TestHub
let token: string
let liveKey: string
const agents: TestAgent[] = []

/** A node that runs every stack tool at once and reports each service running. */
function fakeRuntime(seen: AgentCommand[], agent: () => TestAgent): (command: AgentCommand) => Promise<CommandOutcome> {
  return async (command) => {
    seen.push(command)
    const args = command.arguments as Record<string, any>
    if (command.tool === 'deploy_stack') {
      for (const svc of args.services) await agent().client.sendStatusUpdate({ stackId: args.stackId, serviceName: svc.name, status: 'running', errorMessage: null })
      const services = args.services.map((s: any) => ({ name: s.name, image: s.image, status: 'running', ports: s.ports }))
      return { success: true, output: JSON.stringify({ stackId: args.stackId, stack: { name: args.stackName, status: 'running', services } }) }
    }
    if (command.tool === 'update_service') {
      return { success: true, output: JSON.stringify({ stackId: args.stackId, stack: { name: args.stackName, status: 'running', services: [{ name: args.service, image: args.image, status: 'running', ports: [] }] } }) }
    }
    if (command.tool === 'list_blueprints') return { success: true, output: JSON.stringify([{ name: 'dev-box' }]) }
    if (command.tool === 'create_environment') {
      return args.blueprint === 'dev-box' ? { success: true, output: `environment ${args.name} created` } : { success: false, error: `Unknown blueprint '${args.blueprint}'.` }
    }
    return { success: true, output: JSON.stringify({ stackId: args.stackId, done: command.tool }) }
  }
}

async function agentWith(hostname: string, handler?: (command: AgentCommand) => Promise<CommandOutcome>) {
  let agent!: TestAgent
  const seen: AgentCommand[] = []
  agent = await connectAgent(hub, liveKey, hostname, handler ?? fakeRuntime(seen, () => agent))
  agents.push(agent)
  await eventually(async () => (await hub.request('GET', `/api/nodes/${agent.agentId}`, { token })).status === 200, 5000, `node ${hostname} to register`)
  return { agent, seen }
}

const stackDef = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  services: {
    db: { image: 'docker:postgres:16-alpine', ports: ['15432:5432'] },
    api: { image: 'example/api:1', depends_on: ['db'], env: { DB: 'postgres://${db.host}:${db.port}/app' } },
  },
  ...extra,
})

beforeAll(async () => {
  hub = await startHub({ storage: 'postgres' })
  token = await hub.login()
  liveKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'fleet-agents' } })).body.key
}, 90_000)

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => {})
  await hub?.stop()
  await dropSchema(hub?.schema)
})

describe('a hub on PostgreSQL', () => {
  it("keeps the agent's load, swap, network, disk I/O and temperatures in the node's history at every resolution", async () => {
    const { agent } = await agentWith('node-host-history')
    // What the real agent collects on this machine (the second sample has the rates), plus a sensor: CI hosts rarely expose one.
    const collector = createSystemCollector({ threshVersion: 'test', runtime: { name: 'node', version: process.version } })
    await collector.collect()
    await new Promise((r) => setTimeout(r, 200))
    const collected = await collector.collect()
    const sample = { ...collected, agentId: agent.agentId, temperatures: [{ sensor: 'coretemp Package id 0', celsius: 51.5 }], network: [{ interface: 'eth9', rxBytesPerSec: 2048, txBytesPerSec: 1024 }] }
    await agent.client.sendMetrics(sample)
    const span = async (hours: number) =>
      (await hub.request('GET', `/api/nodes/node-host-history/metrics?from=${Date.now() - hours * 3600_000}&to=${Date.now() + 60_000}`, { token })).body
    const raw = await eventually(async () => ((await span(1)).points?.length ? await span(1) : undefined), 10_000, 'the sample in the history')
    for (const [hours, resolution] of [[1, 'raw'], [12, '1m'], [72, '15m']] as const) {
      const series = hours === 1 ? raw : await span(hours)
      expect(series.resolution).toBe(resolution)
      const point = series.points.at(-1)
      expect(point.loadAverage).toEqual(sample.loadAverage!.map((v) => Math.round(v * 100) / 100))
      expect(point.swapTotalMB).toBeCloseTo(sample.swapTotalMB!, 0)
      expect(point.network).toEqual([{ interface: 'eth9', rxBytesPerSec: 2048, txBytesPerSec: 1024 }])
      expect(point.diskIo.map((d: { device: string }) => d.device)).toEqual(sample.diskIo!.slice(0, 16).map((d) => d.device))
      expect(point.temperatures).toEqual([{ sensor: 'coretemp Package id 0', celsius: 51.5 }])
    }
  })

  it('shows a registered agent as an online node with its metrics, and marks it offline after three missed intervals', async () => {
    const { agent } = await agentWith('node-metrics')
    await agent.client.sendMetrics(metricsSample(agent.agentId, 37.5, 4096))
    const node = await eventually(async () => {
      const reply = await hub.request('GET', `/api/nodes/node-metrics`, { token })
      return reply.status === 200 && reply.body.cpuPercent === 37.5 ? reply.body : undefined
    }, 10_000, 'the node to report its metrics')
    expect(node).toMatchObject({ id: agent.agentId, hostname: 'node-metrics', status: 'online', platform: 'linux', cpuCores: 4, ramUsedGb: 4, ramTotalGb: 8, connectionTier: 'hub' })

    const list = await hub.request('GET', '/api/nodes', { token })
    expect(list.body.nodes.map((n: { hostname: string }) => n.hostname)).toContain('node-metrics')

    const metrics = await hub.request('GET', `/api/nodes/${agent.agentId.slice(0, 10)}/metrics?from=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`, { token })
    expect(metrics.status).toBe(200)
    expect(metrics.body.resolution).toBe('raw')
    expect(metrics.body.points.at(-1)).toMatchObject({ cpuPercent: 37.5, memoryUsedMB: 4096 })
    const month = await hub.request('GET', `/api/nodes/node-metrics/metrics?from=${Date.now() - 30 * 24 * 3600_000}&to=${Date.now()}`, { token })
    expect(month.body).toMatchObject({ resolution: '15m', stepMs: 15 * 60_000 })
    expect((await hub.request('GET', `/api/nodes/node-metrics/metrics?from=${Date.now()}&to=${Date.now() - 1000}`, { token })).status).toBe(400)

    // offlineAfter is 3 s in these tests; the agent stays connected but silent.
    await eventually(async () => (await hub.request('GET', `/api/nodes/node-metrics`, { token })).body.status === 'offline', 10_000, 'the silent node to go offline')
    await agent.client.sendMetrics(metricsSample(agent.agentId))
    await eventually(async () => (await hub.request('GET', `/api/nodes/node-metrics`, { token })).body.status === 'online', 10_000, 'the node to come back')
  })

  it('groups nodes in clusters: one cluster per node, and deleting a cluster keeps its nodes', async () => {
    await agentWith('node-c1')
    await agentWith('node-c2')
    expect((await hub.request('POST', '/api/clusters', { token, body: { name: 'edge', description: 'edge boxes' } })).status).toBe(201)
    expect((await hub.request('POST', '/api/clusters', { token, body: { name: 'core' } })).status).toBe(201)
    expect((await hub.request('POST', '/api/clusters', { token, body: { name: 'edge' } })).status).toBe(409)
    const added = await hub.request('POST', '/api/clusters/edge/nodes', { token, body: { node: 'node-c1' } })
    expect(added.status).toBe(200)
    expect(added.body.nodes.map((n: { hostname: string }) => n.hostname)).toEqual(['node-c1'])
    const twice = await hub.request('POST', '/api/clusters/core/nodes', { token, body: { node: 'node-c1' } })
    expect(twice.status).toBe(409)
    expect(twice.body.message).toContain("cluster 'edge'")
    const list = await hub.request('GET', '/api/clusters', { token })
    expect(list.body.clusters.find((c: { name: string }) => c.name === 'edge')).toMatchObject({ nodeCount: 1, description: 'edge boxes' })
    expect((await hub.request('GET', '/api/nodes/node-c1', { token })).body.cluster).toBe('edge')
    expect((await hub.request('DELETE', '/api/clusters/core/nodes/node-c1', { token })).status).toBe(404)
    expect((await hub.request('DELETE', '/api/clusters/edge', { token })).status).toBe(200)
    expect((await hub.request('GET', '/api/clusters/edge', { token })).status).toBe(404)
    const node = await hub.request('GET', '/api/nodes/node-c1', { token })
    expect(node.status).toBe(200)
    expect(node.body.cluster).toBeNull()
  })

  it('deploys a stack to the target node with resolved env, tracks its services, and updates, stops, starts and destroys it there', async () => {
    const { agent, seen } = await agentWith('node-stacks')
    const deploy = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: stackDef('shop', { targetNode: 'node-stacks' }) })
    expect(deploy.status).toBe(200)
    expect(deploy.body).toMatchObject({ name: 'shop', status: 'running', node: 'node-stacks', targetNodeId: agent.agentId })
    expect(deploy.body.services.map((s: { status: string }) => s.status)).toEqual(['running', 'running'])
    const sent = seen.find((c) => c.tool === 'deploy_stack')!
    expect(sent.arguments).toMatchObject({ stackName: 'shop', traefik: false, stackId: deploy.body.id })
    const api = (sent.arguments.services as Array<Record<string, unknown>>).find((s) => s.name === 'api')!
    expect(api).toMatchObject({ image: 'example/api:1', dependsOn: ['db'], env: { DB: 'postgres://db:5432/app' } })
    expect((sent.arguments.services as Array<Record<string, unknown>>)[0]).toMatchObject({ name: 'db', image: 'postgres:16-alpine', ports: ['15432:5432'] })

    const updated = await hub.request('PATCH', '/api/stacks/shop/services/api?wait=true', { token, body: { image: 'example/api:2' } })
    expect(updated.status).toBe(200)
    expect(updated.body.services.find((s: { name: string }) => s.name === 'api').image).toBe('example/api:2')
    expect(updated.body.services.find((s: { name: string }) => s.name === 'db').image).toBe('postgres:16-alpine')

    const stopped = await hub.request('POST', '/api/stacks/shop/stop?wait=true', { token })
    expect(stopped.body.status).toBe('stopped')
    const started = await hub.request('POST', '/api/stacks/shop/start?wait=true', { token })
    expect(started.body.status).toBe('running')

    const async = await hub.request('POST', '/api/stacks/deploy', { token, body: stackDef('shop') })
    expect(async.status).toBe(202)
    expect(async.body.status).toBe('deploying')
    await eventually(async () => (await hub.request('GET', '/api/stacks/shop', { token })).body.status === 'running', 10_000, 'the redeploy to finish')

    const destroyed = await hub.request('DELETE', '/api/stacks/shop?wait=true', { token })
    expect(destroyed.status).toBe(200)
    expect(destroyed.body.destroyed).toBe(true)
    expect(seen.map((c) => c.tool)).toEqual(['deploy_stack', 'update_service', 'stop_stack', 'start_stack', 'deploy_stack', 'destroy_stack'])
    expect(seen.at(-1)!.arguments).toMatchObject({ stackName: 'shop', removeVolumes: true })
    expect((await hub.request('GET', '/api/stacks/shop', { token })).status).toBe(404)

    const commands = await hub.request('GET', '/api/commands?limit=50', { token })
    const ours = commands.body.commands.filter((c: { nodeId: string }) => c.nodeId === agent.agentId)
    expect(ours.every((c: { status: string }) => c.status === 'success')).toBe(true)
    const audit = await hub.request('GET', '/api/audit', { token })
    const actions = audit.body.entries.map((e: { action: string }) => e.action)
    for (const action of ['stack.deploy', 'stack.update', 'stack.stop', 'stack.redeploy', 'stack.destroy', 'login']) expect(actions).toContain(action)
  })

  it('deploys to the least loaded online node of a target cluster', async () => {
    const busy = await agentWith('node-busy')
    const idle = await agentWith('node-idle')
    await busy.agent.client.sendMetrics(metricsSample(busy.agent.agentId, 95, 7000))
    await idle.agent.client.sendMetrics(metricsSample(idle.agent.agentId, 5, 500))
    await hub.request('POST', '/api/clusters', { token, body: { name: 'pool' } })
    await hub.request('POST', '/api/clusters/pool/nodes', { token, body: { node: 'node-busy' } })
    await hub.request('POST', '/api/clusters/pool/nodes', { token, body: { node: 'node-idle' } })
    await eventually(async () => (await hub.request('GET', '/api/nodes/node-busy', { token })).body.cpuPercent === 95, 5000, 'metrics to land')
    await eventually(async () => (await hub.request('GET', '/api/nodes/node-idle', { token })).body.cpuPercent === 5, 5000, 'metrics to land')

    const deploy = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: stackDef('pooled', { targetCluster: 'pool' }) })
    expect(deploy.status).toBe(200)
    expect(deploy.body.node).toBe('node-idle')
    expect(idle.seen.map((c) => c.tool)).toEqual(['deploy_stack'])
    expect(busy.seen).toEqual([])
    const missing = await hub.request('POST', '/api/stacks/deploy', { token, body: stackDef('nowhere', { targetCluster: 'no-such-cluster' }) })
    expect(missing.status).toBe(404)
  })

  it('refuses a stack for an offline node with 409, and a command nobody answers ends timed out with the stack in error', async () => {
    const { agent } = await agentWith('node-gone')
    await agent.close()
    await eventually(async () => (await hub.request('GET', '/api/nodes/node-gone', { token })).body.status === 'offline', 10_000, 'the closed agent to be offline')
    const offline = await hub.request('POST', '/api/stacks/deploy', { token, body: stackDef('late', { targetNode: 'node-gone' }) })
    expect(offline.status).toBe(409)
    expect(offline.body).toMatchObject({ error: 'node_offline' })
    expect(offline.body.message).toContain('node-gone is offline')

    await agentWith('node-mute', () => new Promise(() => {}))
    const started = Date.now()
    const timedOut = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: stackDef('silent', { targetNode: 'node-mute' }) })
    expect(timedOut.status).toBe(504)
    expect(timedOut.body.error).toBe('command_timeout')
    expect(timedOut.body.message).toMatch(/node-mute did not answer deploy_stack within 4 s/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(3500)
    const stack = await hub.request('GET', '/api/stacks/silent', { token })
    expect(stack.body).toMatchObject({ status: 'error' })
    expect(stack.body.errorMessage).toContain('did not answer')
    const command = await hub.request('GET', `/api/commands/${timedOut.body.command.id}`, { token })
    expect(command.body).toMatchObject({ status: 'timeout', tool: 'deploy_stack' })
  })

  it('sends a command while its record is still being written, and records the answer that comes back first', async () => {
    const seen: AgentCommand[] = []
    await agentWith('node-early', async (command) => {
      seen.push(command)
      return { success: true, output: JSON.stringify([{ name: 'early' }]) }
    })
    // Another session holds the commands table against inserts (as a long migration or maintenance would).
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { search_path: hub.schema! } })
    let release!: () => void
    let locked!: () => void
    const lockTaken = new Promise<void>((resolve) => (locked = resolve))
    const held = sql.begin(async (tx) => {
      await tx.unsafe('lock table commands in share mode')
      locked()
      await new Promise<void>((resolve) => (release = resolve))
    })
    try {
      await lockTaken
      const asked = hub.request('GET', '/api/nodes/node-early/blueprints', { token })
      // The agent has the command (and has answered) before its record could be written.
      await eventually(async () => seen.length === 1, 5000, 'the agent to receive the command')
      await new Promise((resolve) => setTimeout(resolve, 200))
      release()
      const answer = await asked
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body.output)).toEqual([{ name: 'early' }])
      // Read through the hub right after the answer, the command is finished; its row follows the answer.
      const read = await hub.request('GET', `/api/commands/${seen[0]!.commandId}`, { token })
      expect(read.body).toMatchObject({ status: 'success' })
      const row = await eventually(async () => {
        const [found] = await sql.unsafe(`select status, output from commands where id = $1`, [seen[0]!.commandId])
        return found?.status === 'success' ? found : undefined
      }, 10_000, 'the result in the commands table')
      expect(JSON.parse(row!.output)).toEqual([{ name: 'early' }])
    } finally {
      release?.()
      await held.catch(() => {})
      await sql.end()
    }
  })

  it('runs create_environment and list_blueprints on a node for `up` and `blueprints`', async () => {
    await agentWith('node-env')
    const blueprints = await hub.request('GET', '/api/nodes/node-env/blueprints', { token })
    expect(blueprints.status).toBe(200)
    expect(JSON.parse(blueprints.body.output)).toEqual([{ name: 'dev-box' }])
    const up = await hub.request('POST', '/api/nodes/node-env/up', { token, body: { blueprint: 'dev-box', name: 'my-env' } })
    expect(up.body).toMatchObject({ output: 'environment my-env created', error: null })
    const bad = await hub.request('POST', '/api/nodes/node-env/up', { token, body: { blueprint: 'nope' } })
    expect(bad.status).toBe(409)
    expect(bad.body).toMatchObject({ error: 'command_failed', message: "Unknown blueprint 'nope'." })
    expect((await hub.request('POST', '/api/nodes/node-env/up', { token, body: {} })).status).toBe(400)
    expect((await hub.request('GET', '/api/nodes/no-such-node/blueprints', { token })).status).toBe(404)
  })

  it('takes agents, metrics and results from an external mid-tier on /midtierhub and sends it their commands', async () => {
    const midKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'midtier', name: 'region-1' } })).body.key
    const validated = await hub.request('POST', '/api/v1/keys/validate', { token: midKey, body: { key: liveKey } })
    expect(validated.body).toMatchObject({ valid: true })
    expect((await hub.request('POST', '/api/v1/keys/validate', { token: midKey, body: { key: 'thresh_live_x_0000000000000000' } })).body).toEqual({ valid: false, account_id: null })

    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${hub.url}/midtierhub`, { accessTokenFactory: () => midKey, transport: signalR.HttpTransportType.WebSockets })
      .configureLogging(signalR.LogLevel.None)
      .build()
    const relayed: Array<[string, AgentCommand]> = []
    connection.on('ExecuteCommand', (agentId: string, command: AgentCommand) => {
      relayed.push([agentId, command])
      const args = command.arguments as Record<string, any>
      const services = args.services.map((s: any) => ({ name: s.name, image: s.image, status: 'running', ports: [] }))
      void connection.invoke('StackServiceStatusUpdate', agentId, { stackId: args.stackId, serviceName: 'db', status: 'running', errorMessage: null }).then(() =>
        connection.invoke('SendCommandResult', {
          agentId,
          commandId: command.commandId,
          status: 'success',
          success: true,
          output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services } }),
          error: '',
          timestamp: new Date().toISOString(),
          durationMs: 5,
        }),
      )
    })
    await connection.start()
    try {
      const hello = await connection.invoke('RegisterMidTier', { midtierId: 'eu-1' })
      expect(hello).toMatchObject({ midtierId: 'midtier-eu-1' })
      await connection.invoke('RegisterAgents', [agentInfo('far-agent-1', 'far-node')])
      const batch = await connection.invoke('SendMetricsBatch', [metricsSample('far-agent-1', 55), metricsSample('not-registered', 1)])
      expect(batch).toEqual({ accepted: 1 })
      const node = await eventually(async () => {
        const reply = await hub.request('GET', '/api/nodes/far-node', { token })
        return reply.body?.cpuPercent === 55 ? reply.body : undefined
      }, 10_000, 'the relayed node and metrics')
      expect(node).toMatchObject({ id: 'far-agent-1', status: 'online', connectionTier: 'midtier-eu-1' })

      const deploy = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: stackDef('far-stack', { targetNode: 'far-node' }) })
      expect(deploy.status).toBe(200)
      expect(deploy.body).toMatchObject({ status: 'running', node: 'far-node' })
      expect(relayed).toHaveLength(1)
      expect(relayed[0]![0]).toBe('far-agent-1')
      expect(relayed[0]![1].tool).toBe('deploy_stack')

      await connection.invoke('AgentDisconnected', 'far-agent-1')
      await eventually(async () => (await hub.request('GET', '/api/nodes/far-node', { token })).body.status === 'offline', 5000, 'the relayed agent to go offline')
    } finally {
      await connection.stop()
    }
  })
})
