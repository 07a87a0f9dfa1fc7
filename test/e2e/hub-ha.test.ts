// Hub HA (seed 001, Pattern 3): two hub processes on one PostgreSQL schema act as primary and
// standby. Agents with a fallback-url move to the standby when the primary dies, see the same fleet
// there, and move back once the primary returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHub, databaseUrl, dropSchema, eventually, newSchema, startAgent, type HubProcess, type RunningAgent } from './support.ts'

const schema = newSchema()
let primary: HubProcess
let standby: HubProcess
let token: string
const agents: RunningAgent[] = []

async function onlineNodes(hub: HubProcess, authToken: string, ids: string[]): Promise<Array<Record<string, any>> | undefined> {
  const reply = await hub.request('GET', '/api/nodes', { token: authToken })
  const list: Array<Record<string, any>> = Array.isArray(reply.body) ? reply.body : (reply.body?.nodes ?? [])
  const ours = list.filter((n) => ids.includes(n.id) && n.status === 'online')
  return ours.length === ids.length ? ours : undefined
}

beforeAll(async () => {
  primary = await createHub({ databaseUrl, schema })
  standby = await createHub({ databaseUrl, schema })
  token = await primary.login()
  const key = (await primary.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'ha-agents' } })).body.key
  expect((await primary.request('POST', '/api/clusters', { token, body: { name: 'ha-cluster' } })).status).toBeLessThan(300)
  const config = {
    midtierUrl: primary.url,
    fallbackUrl: standby.url,
    apiKey: key,
    autoFailover: true,
    failbackDelay: '2s',
    metricsInterval: '500ms',
    reconnectDelay: '300ms',
  }
  agents.push(...(await Promise.all([startAgent({ ...config, nodeName: 'ha-node-1' }), startAgent({ ...config, nodeName: 'ha-node-2' })])))
}, 120_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.proc.stop('SIGKILL')))
  await primary?.kill()
  await standby?.kill()
  await dropSchema(schema)
})

describe('two hubs on one PostgreSQL', () => {
  it('agents move to the standby when the primary dies, see the same fleet there, and move back when it returns', async () => {
    const ids = await Promise.all(agents.map(async (a) => (await a.until('connected', 'primary', 30_000)).agentId))
    await eventually('both nodes online on the primary', () => onlineNodes(primary, token, ids))

    await primary.kill()
    for (const a of agents) {
      const status = await a.until('connected', 'fallback', 30_000)
      expect(status.hubUrl).toBe(standby.url)
    }
    // Same database: the same admin, the same nodes and clusters, now reporting to the standby.
    const standbyToken = await standby.login()
    const nodes = await eventually('both nodes online on the standby', () => onlineNodes(standby, standbyToken, ids), 20_000)
    for (const node of nodes) expect(node.connectionTier ?? 'hub').toBe('hub')
    const clusters = await standby.request('GET', '/api/clusters', { token: standbyToken })
    expect(JSON.stringify(clusters.body)).toContain('ha-cluster')
    const since = Date.now()
    await eventually('fresh metrics on the standby', async () => {
      const reply = await standby.request('GET', `/api/nodes/${ids[0]}/metrics?from=${since}&to=${Date.now() + 1000}`, { token: standbyToken })
      return (reply.body?.points ?? []).length > 0
    })

    await primary.start()
    for (const a of agents) {
      const status = await a.until('connected', 'primary', 30_000)
      expect(status.hubUrl).toBe(primary.url)
      expect(status.failovers).toBeGreaterThanOrEqual(1)
    }
    await eventually('both nodes online on the primary again', () => onlineNodes(primary, token, ids), 20_000)
  })
})
