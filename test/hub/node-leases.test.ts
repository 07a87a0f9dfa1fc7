// Three hub processes on one PostgreSQL. A hub that does not hold a node sends its commands from what
// the holding hubs announced (plugins/hub-fleet/lease-map.ts), without reading the node first; these
// tests hold it to what a user sees: a node that moved to another hub is reached there, and a node
// that stopped or was removed through one hub is offline or gone on the others, not sent to a stale holder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { connectAgent, dropSchema, eventually, newSchema, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

const schema = newSchema()
const hubs: TestHub[] = []
const agents: TestAgent[] = []
const config = { offlineAfter: '10m', hubLeaseTtl: '6s', commandTimeout: '20s' }

/** An agent connection that names itself in its answer to list_blueprints. */
const answeringAs = (name: string) => async (command: { tool: string }) =>
  command.tool === 'list_blueprints' ? { success: true, output: JSON.stringify([{ name, description: 'which connection answered' }]) } : { success: false, error: 'unexpected' }

beforeAll(async () => {
  for (let i = 0; i < 3; i++) hubs.push(await startHub({ storage: 'postgres', schema, config }))
}, 120_000)

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => {})
  for (const hub of hubs) await hub.stop()
  await dropSchema(schema)
})

describe('a node that another hub holds', () => {
  it('is reached on the hub it moved to, is offline everywhere once its agent stops, and gone on every hub once removed through one', async () => {
    const [first, second, third] = hubs as [TestHub, TestHub, TestHub]
    const tokens = await Promise.all(hubs.map((hub) => hub.login()))
    const [onFirst, onSecond, onThird] = tokens as [string, string, string]
    const key = (await first.request('POST', '/api/keys', { token: onFirst, body: { type: 'agent', name: 'leases' } })).body.key
    const agentId = `lease-agent-${Date.now()}`
    // By id, as the dashboard sends them: a hostname is looked up in the store.
    const blueprintsOnThird = () => third.request('GET', `/api/nodes/${agentId}/blueprints`, { token: onThird })
    const answeredBy = async () => {
      const response = await blueprintsOnThird()
      return response.status === 200 ? JSON.stringify(response.body).match(/on the (first|second) hub/)?.[0] : `${response.status} ${JSON.stringify(response.body)}`
    }

    const onFirstHub = await connectAgent(first, key, 'lease-node', answeringAs('on the first hub'), agentId)
    agents.push(onFirstHub)
    await eventually(async () => ((await third.request('GET', '/api/nodes/lease-node', { token: onThird })).body.status === 'online' ? true : undefined), 10_000, 'the node online on the third hub')
    expect(await answeredBy()).toBe('on the first hub')

    // The agent moves: it leaves the first hub and registers with the second, under the same id.
    await onFirstHub.close()
    const onSecondHub = await connectAgent(second, key, 'lease-node', answeringAs('on the second hub'), agentId)
    agents.push(onSecondHub)
    await eventually(async () => ((await answeredBy()) === 'on the second hub' ? true : undefined), 10_000, 'the third hub to reach the node on the second hub')

    // The agent stops: the third hub says the node is offline instead of sending to where it was.
    await onSecondHub.close()
    const offline = await eventually(async () => {
      const response = await blueprintsOnThird()
      // A command sent while the agent leaves may fail on the way (command_failed); then it is offline.
      return response.body.error === 'node_offline' ? response : undefined
    }, 10_000, 'the third hub to refuse a command for the stopped node')
    expect(offline!.status).toBe(409)

    const removed = await first.request('DELETE', '/api/nodes/lease-node', { token: onFirst })
    expect(removed.status, JSON.stringify(removed.body)).toBe(200)
    const gone = await eventually(async () => {
      const response = await blueprintsOnThird()
      return response.status === 404 ? response : undefined
    }, 10_000, 'the removed node to be unknown on the third hub')
    expect(gone!.body.message).toContain('No node')
    expect((await second.request('GET', '/api/nodes/lease-node', { token: onSecond })).status).toBe(404)
  }, 90_000)
})
