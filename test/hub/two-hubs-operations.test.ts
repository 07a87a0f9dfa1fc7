// Two hub processes on one PostgreSQL, operations that must act as they do on one hub whichever hub
// is asked: a stack runs one operation at a time (a second one asked on the other hub is refused 409
// stack_busy), and a node removed with force on the hub that does not hold it loses its agent's
// connection on the hub that does, and a stack whose destroy was asked on a hub that died before the
// node answered is still removed once the holding hub has the answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { connectAgent, dropSchema, eventually, newSchema, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

const schema = newSchema()
let holder: TestHub
let other: TestHub
const agents: TestAgent[] = []
const config = { offlineAfter: '10m', hubLeaseTtl: '6s', commandTimeout: '30s' }

// The node answers a deploy only on the test's go.
let held: { asked: boolean; go: Promise<void> } | undefined
const answer = async (command: { tool: string; arguments: unknown }) => {
  const args = command.arguments as Record<string, any>
  if ((command.tool === 'deploy_stack' || command.tool === 'destroy_stack') && held) {
    held.asked = true
    await held.go
  }
  if (command.tool === 'destroy_stack') return { success: true, output: JSON.stringify({ destroyed: true }) }
  return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: command.tool === 'stop_stack' ? 'stopped' : 'running', services: [{ name: 'web', status: 'running', image: 'nginx' }] } }) }
}

beforeAll(async () => {
  holder = await startHub({ storage: 'postgres', schema, config })
  other = await startHub({ storage: 'postgres', schema, config })
}, 120_000)

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => {})
  await holder?.stop()
  await other?.stop()
  await dropSchema(schema)
})

describe('one stack, two hubs', () => {
  it('a second operation asked on another hub while the first runs is refused stack_busy, and goes through after', async () => {
    const onHolder = await holder.login()
    const onOther = await other.login()
    const key = (await holder.request('POST', '/api/keys', { token: onHolder, body: { type: 'agent', name: 'busy' } })).body.key
    agents.push(await connectAgent(holder, key, 'busy-node', answer))
    await eventually(async () => ((await other.request('GET', '/api/nodes/busy-node', { token: onOther })).body.status === 'online' ? true : undefined), 10_000, 'the node online on the other hub')

    let go!: () => void
    held = { asked: false, go: new Promise<void>((resolve) => (go = resolve)) }
    const deploying = holder.request('POST', '/api/stacks/deploy?wait=true', { token: onHolder, body: { name: 'busy-stack', targetNode: 'busy-node', services: { web: { image: 'nginx' } } } })
    deploying.catch(() => {})
    await eventually(async () => held!.asked, 10_000, 'the node to receive the deploy')

    const refused = await other.request('POST', '/api/stacks/busy-stack/stop?wait=true', { token: onOther })
    expect(refused.status, JSON.stringify(refused.body)).toBe(409)
    expect(refused.body.error).toBe('stack_busy')
    expect(refused.body.message).toContain('busy-stack')

    go()
    held = undefined
    expect((await deploying).status).toBe(200)
    const stopped = await other.request('POST', '/api/stacks/busy-stack/stop?wait=true', { token: onOther })
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200)
    expect((await holder.request('GET', '/api/stacks/busy-stack', { token: onHolder })).body.status).toBe('stopped')
  }, 90_000)

  it('a node removed with force on the hub that does not hold it loses its agent connection on the holding hub', async () => {
    const onHolder = await holder.login()
    const onOther = await other.login()
    const key = (await holder.request('POST', '/api/keys', { token: onHolder, body: { type: 'agent', name: 'removed' } })).body.key
    const agent = await connectAgent(holder, key, 'removed-node', answer)
    agents.push(agent)
    const states: string[] = []
    agent.client.onStateChange((state) => states.push(state))
    await eventually(async () => ((await other.request('GET', '/api/nodes/removed-node', { token: onOther })).body.status === 'online' ? true : undefined), 10_000, 'the node online on the other hub')

    const removed = await other.request('DELETE', '/api/nodes/removed-node?force=true', { token: onOther })
    expect(removed.status, JSON.stringify(removed.body)).toBe(200)
    await eventually(async () => (states.some((state) => state !== 'connected') ? true : undefined), 15_000, 'the holding hub to close the agent connection')
  }, 60_000)

  it('a destroy asked on a hub that dies before the node answers still removes the stack: the holding hub applies it', async () => {
    const asker = await startHub({ storage: 'postgres', schema, config })
    const onAsker = await asker.login()
    const onHolder = await holder.login()
    await eventually(async () => ((await asker.request('GET', '/api/nodes/busy-node', { token: onAsker })).body.status === 'online' ? true : undefined), 10_000, 'the node online on the asking hub')
    // The holding hub must know the asking hub alive (a node the asker holds reads online there), so that
    // the answer goes to the asker, which dies before it can apply it.
    const key = (await holder.request('POST', '/api/keys', { token: onHolder, body: { type: 'agent', name: 'probe' } })).body.key
    agents.push(await connectAgent(asker, key, 'probe-node', answer))
    await eventually(async () => ((await holder.request('GET', '/api/nodes/probe-node', { token: onHolder })).body.status === 'online' ? true : undefined), 10_000, 'the asking hub alive on the holding hub')
    let go!: () => void
    held = { asked: false, go: new Promise<void>((resolve) => (go = resolve)) }
    void asker.request('DELETE', '/api/stacks/busy-stack?wait=true', { token: onAsker }).catch(() => {})
    await eventually(async () => held!.asked, 10_000, 'the node to receive the destroy')
    await asker.proc.stop('SIGKILL')
    go()
    held = undefined
    await eventually(async () => ((await holder.request('GET', '/api/stacks/busy-stack', { token: onHolder })).status === 404 ? true : undefined), 30_000, 'the stack removed')
  }, 90_000)
})
