// A hostile tenant against a real hub process on the embedded store (issue #14): a key of the account
// cannot act as another key's node over REST, SignalR or /midtierhub, nor take its hostname; new nodes
// are rate-limited per key and capped per account; one account cannot fill the negotiation table.
import * as signalR from '@microsoft/signalr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentCommand, CommandOutcome } from '../../lib/agent-session/agent/index.ts'
import { agentInfo, connectAgent, eventually, metricsSample, startHub, type TestAgent, type TestHub } from './support.ts'

let hub: TestHub
let admin: string
const agents: TestAgent[] = []
const connections: signalR.HubConnection[] = []
let tenants = 0

beforeAll(async () => {
  hub = await startHub({
    storage: 'embedded',
    config: {
      registrationRate: 0.2,
      registrationBurst: 4,
      maxNodesPerAccount: 5,
      pendingNegotiationsPerAccount: 5,
      pluginOptions: { 'transport-signalr': { maxPendingNegotiations: 12 } },
    },
  })
  admin = await hub.login()
}, 90_000)

afterAll(async () => {
  for (const connection of connections) await connection.stop().catch(() => {})
  for (const agent of agents) await agent.close().catch(() => {})
  await hub?.stop()
})

/** A fresh account (quotas are per account) with a CLI token and a way to make agent keys. */
async function tenant() {
  const name = `tenant-${++tenants}`
  const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name, adminUser: `${name}-admin` } })
  expect(created.status).toBe(201)
  const token = await hub.login(`${name}-admin`, created.body.password)
  const key = async (type: 'agent' | 'midtier' = 'agent') => {
    const reply = await hub.request('POST', '/api/keys', { token, body: { type, name: `${name}-${type}-${Math.random()}` } })
    expect(reply.status).toBe(201)
    return reply.body as { id: string; key: string }
  }
  return { token, key }
}

/** A node that answers every command and records what it was sent. */
async function node(key: string, hostname: string) {
  const seen: AgentCommand[] = []
  const handler = async (command: AgentCommand): Promise<CommandOutcome> => {
    seen.push(command)
    const args = command.arguments as Record<string, any>
    if (command.tool === 'deploy_stack') {
      const services = args.services.map((s: any) => ({ name: s.name, image: s.image, status: 'running', ports: [] }))
      return { success: true, output: JSON.stringify({ stackId: args.stackId, stack: { name: args.stackName, status: 'running', services } }) }
    }
    return { success: true, output: JSON.stringify([{ name: 'dev-box' }]) }
  }
  const agent = await connectAgent(hub, key, hostname, handler)
  agents.push(agent)
  return { agent, seen }
}

const rest = (key: string, method: string, path: string, agentId: string, body?: unknown) =>
  hub.request(method, path, { token: key, headers: { 'x-agent-id': agentId }, ...(body !== undefined ? { body } : {}) })

function officialClient(key: string, options: { skipNegotiation?: boolean } = {}) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${hub.url}/agenthub`, { accessTokenFactory: () => key, transport: signalR.HttpTransportType.WebSockets, ...(options.skipNegotiation ? { skipNegotiation: true } : {}) })
    .configureLogging(signalR.LogLevel.None)
    .build()
  connections.push(connection)
  return connection
}

const closedOf = (connection: signalR.HubConnection) => new Promise<Error | undefined>((resolve) => connection.onclose(resolve))

/** A tenant with two agent keys: a victim's node registered with one, the other key for the impostor. */
async function victimAndImpostor(hostname: string) {
  const { token, key } = await tenant()
  const [mine, theirs] = [await key(), await key()]
  const victim = await node(mine.key, hostname)
  const id = victim.agent.agentId
  await eventually(async () => (await hub.request('GET', `/api/nodes/${id}`, { token })).status === 200, 5000, 'the victim to register')
  return { token, key, theirs, victim, id }
}

async function victimKeepsItsCommands(token: string, victim: { agent: TestAgent; seen: AgentCommand[] }) {
  expect(victim.agent.client.state).toBe('connected')
  const blueprints = await hub.request('GET', `/api/nodes/${victim.agent.agentId}/blueprints`, { token })
  expect(blueprints.status).toBe(200)
  expect(victim.seen.map((c) => c.tool)).toContain('list_blueprints')
}

describe('a key of the same account acting as another key’s node', () => {
  it('is refused over REST with 403 for metrics, command polls, results and re-registering the id, and the victim keeps its node', async () => {
    const { token, theirs, victim, id } = await victimAndImpostor('rest-victim')

    const metrics = await rest(theirs.key, 'POST', '/api/agent/metrics', id, metricsSample(id, 99))
    expect(metrics.status).toBe(403)
    expect(metrics.body).toMatchObject({ error: 'agent_key_mismatch' })
    expect((await rest(theirs.key, 'GET', '/api/agent/commands?wait=0', id)).status).toBe(403)
    expect((await rest(theirs.key, 'POST', '/api/agent/commands/some-command/result', id, { status: 'success', success: true, output: '' })).status).toBe(403)

    const register = await rest(theirs.key, 'POST', '/api/agent/register', id, agentInfo(id, 'rest-victim'))
    expect(register.status).toBe(403)
    expect(register.body.error).toBe('agent_id_taken')
    expect(register.body.message).toContain('registered with another agent key')
    expect(JSON.stringify(register.body)).not.toContain(theirs.key)

    await victimKeepsItsCommands(token, victim)
    const shown = await hub.request('GET', `/api/nodes/${id}`, { token })
    expect(shown.body.cpuPercent).not.toBe(99)
  })

  it('is refused over SignalR: RegisterAgent fails with the reason, the connection closes, the victim stays connected with its commands', async () => {
    const { token, theirs, victim, id } = await victimAndImpostor('signalr-victim')

    const impostor = officialClient(theirs.key)
    const closed = closedOf(impostor)
    await impostor.start()
    await expect(impostor.invoke('RegisterAgent', agentInfo(id, 'signalr-victim'))).rejects.toThrow(/Registration refused: .*another agent key/)
    expect((await closed)?.message).toContain('Registration refused')

    await victimKeepsItsCommands(token, victim)
  })

  it('cannot report service status for a stack on another node', async () => {
    const { token, key } = await tenant()
    const [mine, theirs] = [await key(), await key()]
    const victim = await node(mine.key, 'stack-victim')
    const other = await node(theirs.key, 'stack-other')
    await eventually(async () => (await hub.request('GET', `/api/nodes/${other.agent.agentId}`, { token })).status === 200, 5000, 'both nodes to register')
    const deploy = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: 'shop', targetNode: 'stack-victim', services: { web: { image: 'nginx' } } } })
    expect(deploy.status).toBe(200)
    expect(deploy.body.services[0].status).toBe('running')

    const update = { stackId: deploy.body.id, serviceName: 'web', status: 'failed', errorMessage: 'forged' }
    await other.agent.client.sendStatusUpdate(update)
    await rest(theirs.key, 'POST', '/api/agent/status', other.agent.agentId, update)
    // Status updates are fire-and-forget: give the hub time to (not) apply them.
    await new Promise((r) => setTimeout(r, 500))
    const stack = await hub.request('GET', '/api/stacks/shop', { token })
    expect(stack.body.services[0]).toMatchObject({ status: 'running' })
    expect(JSON.stringify(stack.body)).not.toContain('forged')
  })

  it('cannot register a hostname another key’s node holds, so deploys by hostname still reach the victim', async () => {
    const { token, theirs, victim } = await victimAndImpostor('db-primary')

    const overRest = await rest(theirs.key, 'POST', '/api/agent/register', 'impostor-rest', agentInfo('impostor-rest', 'db-primary'))
    expect(overRest.status).toBe(409)
    expect(overRest.body).toMatchObject({ error: 'hostname_taken' })
    expect(overRest.body.message).toContain("Hostname 'db-primary'")
    const impostor = officialClient(theirs.key, { skipNegotiation: true })
    await impostor.start()
    await expect(impostor.invoke('RegisterAgent', agentInfo('impostor-signalr', 'db-primary'))).rejects.toThrow(/Registration refused: Hostname 'db-primary'/)

    const deploy = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: 'db', targetNode: 'db-primary', services: { db: { image: 'postgres', env: { PASSWORD: 's3cret' } } } } })
    expect(deploy.status).toBe(200)
    expect(deploy.body.targetNodeId).toBe(victim.agent.agentId)
    expect(victim.seen.map((c) => c.tool)).toContain('deploy_stack')
    expect((await hub.request('GET', '/api/nodes', { token })).body.nodes.map((n: { id: string }) => n.id)).toEqual([victim.agent.agentId])
  })

  it('is refused through /midtierhub when the mid-tier says the agent used another key', async () => {
    const { token, key, theirs, victim, id } = await victimAndImpostor('mid-victim')
    const mid = await key('midtier')
    const midtier = new signalR.HubConnectionBuilder().withUrl(`${hub.url}/midtierhub`, { accessTokenFactory: () => mid.key }).configureLogging(signalR.LogLevel.None).build()
    connections.push(midtier)
    const relayed: unknown[] = []
    midtier.on('ExecuteCommand', (agentId, command) => relayed.push([agentId, command]))
    await midtier.start()
    await midtier.invoke('RegisterMidTier', { midtierId: 'edge' })

    const answer = await midtier.invoke('RegisterAgents', [{ ...agentInfo(id, 'mid-victim'), keyId: theirs.id }, { ...agentInfo('mid-new', 'mid-new'), keyId: theirs.id }])
    expect(answer).toMatchObject({ registered: 1, refused: [{ agentId: id, status: 403, error: 'agent_id_taken' }] })
    await victimKeepsItsCommands(token, victim)
    expect(relayed).toEqual([])
    expect((await hub.request('GET', `/api/nodes/${id}`, { token })).body.connectionTier).toBe('hub')
  })
})

describe('legitimate re-registrations', () => {
  it('an agent re-registers with its key, with the key it was rotated to, and with another key after its node was removed', async () => {
    const { token, key } = await tenant()
    const [first, other] = [await key(), await key()]
    const info = agentInfo('rolling-node', 'rolling-host')
    expect((await rest(first.key, 'POST', '/api/agent/register', info.agentId, info)).status).toBe(200)
    expect((await rest(first.key, 'POST', '/api/agent/register', info.agentId, info)).status).toBe(200)
    expect((await rest(first.key, 'POST', '/api/agent/metrics', info.agentId, metricsSample(info.agentId))).status).toBe(200)

    const rotated = await hub.request('POST', `/api/keys/${first.id}/rotate`, { token })
    expect(rotated.status).toBe(201)
    expect((await rest(rotated.body.key, 'POST', '/api/agent/register', info.agentId, info)).status).toBe(200)
    expect((await rest(rotated.body.key, 'GET', '/api/agent/commands?wait=0', info.agentId)).status).toBe(200)
    // The rotation moved the node to the new key: the old one no longer speaks for it.
    expect((await rest(first.key, 'GET', '/api/agent/commands?wait=0', info.agentId)).status).toBe(403)

    expect((await rest(other.key, 'POST', '/api/agent/register', info.agentId, info)).status).toBe(403)
    expect((await hub.request('DELETE', `/api/nodes/${info.agentId}?force=true`, { token })).status).toBe(200)
    const fresh = await rest(other.key, 'POST', '/api/agent/register', info.agentId, info)
    expect(fresh.status).toBe(200)

    // A SignalR agent that reconnects registers again with the same key and id.
    const agent = await connectAgent(hub, other.key, 'rolling-host', undefined, info.agentId)
    agents.push(agent)
    await agent.client.close()
    const again = await connectAgent(hub, other.key, 'rolling-host', undefined, info.agentId)
    agents.push(again)
    expect(again.client.state).toBe('connected')
  })
})

describe('limits on new nodes', () => {
  it('one key registers new nodes at most at its rate (429 with Retry-After), re-registering known nodes stays free', async () => {
    const { key } = await tenant()
    const fast = await key()
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await rest(fast.key, 'POST', '/api/agent/register', `burst-${i}`, agentInfo(`burst-${i}`, `burst-${i}`))).status)
    expect(statuses).toEqual([200, 200, 200, 200, 429])
    const limited = await rest(fast.key, 'POST', '/api/agent/register', 'burst-9', agentInfo('burst-9', 'burst-9'))
    expect(limited.status).toBe(429)
    expect(limited.body).toMatchObject({ error: 'registration_rate' })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await rest(fast.key, 'POST', '/api/agent/register', 'burst-0', agentInfo('burst-0', 'burst-0'))).status).toBe(200)
  })

  it('an account holds at most its node quota (409 with a sentence) until it removes a node', async () => {
    const { token, key } = await tenant()
    const keys = [await key(), await key()]
    for (let i = 0; i < 5; i++) {
      const k = keys[i % 2]!.key
      expect((await rest(k, 'POST', '/api/agent/register', `quota-${i}`, agentInfo(`quota-${i}`, `quota-${i}`))).status).toBe(200)
    }
    const over = await rest(keys[1]!.key, 'POST', '/api/agent/register', 'quota-5', agentInfo('quota-5', 'quota-5'))
    expect(over.status).toBe(409)
    expect(over.body).toMatchObject({ error: 'node_quota' })
    expect(over.body.message).toContain('quota of 5 nodes')
    expect((await hub.request('DELETE', '/api/nodes/quota-0?force=true', { token })).status).toBe(200)
    expect((await rest(keys[1]!.key, 'POST', '/api/agent/register', 'quota-5', agentInfo('quota-5', 'quota-5'))).status).toBe(200)
  })
})

describe('pending SignalR negotiations', () => {
  it('one account filling its share gets 429 while another account’s official client still connects', async () => {
    const hostile = await tenant()
    const flood = (await hostile.key()).key
    const replies = []
    for (let i = 0; i < 20; i++) replies.push(await hub.request('POST', '/agenthub/negotiate?negotiateVersion=1', { token: flood }))
    expect(replies.filter((r) => r.status === 200).length).toBe(5)
    const refused = replies.find((r) => r.status === 429)!
    expect(refused.body).toMatchObject({ error: 'too_many_negotiations' })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)

    const neighbour = await tenant()
    const client = officialClient((await neighbour.key()).key)
    await client.start()
    await client.invoke('RegisterAgent', agentInfo('neighbour-node', 'neighbour-node'))
    expect(client.state).toBe(signalR.HubConnectionState.Connected)
  })
})
