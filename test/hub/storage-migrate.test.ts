// The embedded store is one hub's: a second hub on the same data dir refuses to start, naming the first.
// `thresh storage migrate --to postgres://…` moves a stopped embedded hub's whole state to PostgreSQL
// (refusing while the hub runs, and a target that already holds a fleet unless --force); a hub on that
// PostgreSQL then has the same admin password, nodes, stacks, keys, alerts, events and metrics history,
// and the agent's key still signs it in.
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, spawnThresh } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { connectAgent, databaseUrl, dropSchema, eventually, metricsSample, newSchema, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

const schema = newSchema()
const hubs: TestHub[] = []
const agents: TestAgent[] = []

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => {})
  for (const hub of hubs) await hub.stop().catch(() => {})
  await dropSchema(schema)
}, 60_000)

async function thresh(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawnThresh('node', args, env)
  const code = await proc.exited
  return { code, output: proc.output() }
}

const handler = async (command: { tool: string; arguments: unknown }) => {
  const args = command.arguments as Record<string, any>
  return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: [{ name: 'web', status: 'running' }] } }) }
}

describe('an embedded hub outgrowing its store', () => {
  it('refuses a second hub on its data dir, and moves to PostgreSQL with everything it had', async () => {
    const embedded = await startHub({ storage: 'embedded' })
    hubs.push(embedded)
    const token = await embedded.login()
    const agentKey = (await embedded.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'moving' } })).body
    const midKey = (await embedded.request('POST', '/api/keys', { token, body: { type: 'midtier', name: 'moving-mid' } })).body
    const hostname = `moving-${schema.slice(-6)}`
    const agent = await connectAgent(embedded, agentKey.key, hostname, handler)
    agents.push(agent)
    const sampleAt = Date.now() - 5000
    await agent.client.sendMetrics({ ...metricsSample(agent.agentId, 42), timestamp: new Date(sampleAt).toISOString() })
    expect((await embedded.request('POST', '/api/clusters', { token, body: { name: 'moving-cluster' } })).status).toBeLessThan(300)
    const deployed = await embedded.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: 'moving-stack', targetNode: hostname, services: { web: { image: 'nginx' } } } })
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200)
    expect((await embedded.request('POST', '/api/alerts/channels', { token, body: { name: 'moving-hooks', type: 'webhook', url: 'http://127.0.0.1:9/hook' } })).status).toBeLessThan(300)
    expect((await embedded.request('POST', '/api/alerts/rules', { token, body: { name: 'moving-cpu', kind: 'cpu', scope: 'node', target: hostname, threshold: 90, for: '1m', channels: ['moving-hooks'] } })).status).toBeLessThan(300)
    await eventually(async () => {
      const points = (await embedded.request('GET', `/api/nodes/${agent.agentId}/metrics?from=${sampleAt - 1000}&to=${Date.now()}`, { token })).body?.points ?? []
      return points.length > 0
    }, 20_000, 'the sample stored')
    // The event log is written a moment after what it records.
    const eventsBefore = await eventually(async () => {
      const events = (await embedded.request('GET', '/api/events?limit=100', { token })).body.events as Array<{ kind: string }>
      return events.some((e) => e.kind.startsWith('stack_')) ? events : undefined
    }, 20_000, 'the deploy in the event log')

    // A second hub on the same data dir refuses, naming the process that holds it.
    const second = await thresh(['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(await freePort())], { THRESH_HOME: embedded.home, THRESH_ADMIN_PASSWORD: 'x-unused-password' })
    expect(second.code).not.toBe(0)
    expect(second.output).toContain(`in use by another thresh process (pid ${embedded.proc.child.pid})`)
    expect(second.output).toMatch(/one hub process/)

    // Moving while the hub runs is refused the same way.
    const migrateArgs = ['storage', 'migrate', '--to', databaseUrl, '--schema', schema]
    const whileRunning = await thresh(migrateArgs, { THRESH_HOME: embedded.home })
    expect(whileRunning.code).not.toBe(0)
    expect(whileRunning.output).toContain(`(pid ${embedded.proc.child.pid})`)

    await agent.close()
    agents.pop()
    await embedded.stop()
    hubs.pop()
    const moved = await thresh(migrateArgs, { THRESH_HOME: embedded.home })
    expect(moved.code, moved.output).toBe(0)
    expect(moved.output).toMatch(/✓ Moved the hub's state .*: accounts 1, users 1, keys 2, nodes 1, stacks 1, commands 1, events [1-9]\d*, alert rules 1, alert channels 1, metric samples 1\b/)

    // A second move onto the same database is refused unless --force.
    const again = await thresh(migrateArgs, { THRESH_HOME: embedded.home })
    expect(again.code).not.toBe(0)
    expect(again.output).toContain('already holds a fleet')
    const forced = await thresh([...migrateArgs, '--force'], { THRESH_HOME: embedded.home })
    expect(forced.code, forced.output).toBe(0)

    // The hub on PostgreSQL, same THRESH_HOME: same password, same fleet.
    const onPostgres = await startHub({ storage: 'postgres', schema, home: embedded.home })
    hubs.push(onPostgres)
    expect(onPostgres.proc.output()).not.toContain('Created the first account')
    const pgToken = await onPostgres.login()
    const node = (await onPostgres.request('GET', `/api/nodes/${hostname}`, { token: pgToken })).body
    expect(node).toMatchObject({ id: agent.agentId, hostname })
    expect((await onPostgres.request('GET', '/api/stacks/moving-stack', { token: pgToken })).body).toMatchObject({ status: 'running', node: hostname })
    const keys = (await onPostgres.request('GET', '/api/keys', { token: pgToken })).body
    const keyList: Array<{ id: string }> = Array.isArray(keys) ? keys : keys.keys
    expect(keyList.map((k) => k.id).sort()).toEqual([agentKey.id, midKey.id].sort())
    expect(JSON.stringify((await onPostgres.request('GET', '/api/clusters', { token: pgToken })).body)).toContain('moving-cluster')
    expect(JSON.stringify((await onPostgres.request('GET', '/api/alerts/rules', { token: pgToken })).body)).toContain('moving-cpu')
    expect(JSON.stringify((await onPostgres.request('GET', '/api/alerts/channels', { token: pgToken })).body)).toContain('moving-hooks')
    const points = (await onPostgres.request('GET', `/api/nodes/${agent.agentId}/metrics?from=${sampleAt - 1000}&to=${Date.now()}`, { token: pgToken })).body.points
    expect(points.length).toBeGreaterThan(0)
    const eventsAfter = (await onPostgres.request('GET', '/api/events?limit=100', { token: pgToken })).body.events as Array<{ id: string }>
    expect(eventsAfter.length).toBeGreaterThanOrEqual(eventsBefore!.length)

    // The agent's key, stored only as its hash, still signs the node in; new rows get fresh ids.
    const back = await connectAgent(onPostgres, agentKey.key, hostname, handler, agent.agentId)
    agents.push(back)
    await eventually(async () => (await onPostgres.request('GET', `/api/nodes/${hostname}`, { token: pgToken })).body.status === 'online', 20_000, 'the node online on PostgreSQL')
    const redeployed = await onPostgres.request('POST', '/api/stacks/deploy?wait=true', { token: pgToken, body: { name: 'after-move', targetNode: hostname, services: { web: { image: 'nginx' } } } })
    expect(redeployed.status, JSON.stringify(redeployed.body)).toBe(200)
  }, 240_000)
})
