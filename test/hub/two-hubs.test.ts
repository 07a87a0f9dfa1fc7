// Two hub processes on one PostgreSQL, active-active: one admin and one fleet state for both, and a
// command for a node held by the other hub goes there through the database and comes back answered.
// When the holding hub dies its node reads "reconnecting" on the other, until its agent comes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { connectAgent, dropSchema, eventually, newSchema, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

const schema = newSchema()
let primary: TestHub
let standby: TestHub
const agents: TestAgent[] = []
let agentKey: string
const config = { offlineAfter: '10m', hubLeaseTtl: '2s', commandTimeout: '20s' }

// A deploy of this stack waits for the test's go before the node answers.
let held: { asked: boolean; go: Promise<void> } | undefined

// What the fake node answers: a running stack for stack tools, its blueprints, its version.
const answer = async (command: { tool: string; arguments: unknown }) => {
  const args = command.arguments as Record<string, any>
  if (command.tool === 'deploy_stack' && args.stackName === 'orphan-stack' && held) {
    held.asked = true
    await held.go
  }
  if (command.tool === 'deploy_stack' && args.stackName === 'undone-stack' && held) {
    held.asked = true
    await held.go
    // The node could not start the new definition and runs the previous one again.
    const previous = { name: 'web', status: 'running', image: 'nginx:1' }
    return { success: false, error: 'rolled back: web: exited with status 3', output: JSON.stringify({ stack: { name: args.stackName, status: 'running', rolledBack: 'web: exited with status 3', services: [previous] } }) }
  }
  if (command.tool === 'list_blueprints') return { success: true, output: JSON.stringify([{ name: 'redis', description: 'cache' }]) }
  if (command.tool === 'destroy_stack') return { success: true, output: JSON.stringify({ destroyed: true }) }
  return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: [{ name: 'web', status: 'running', image: 'nginx' }] } }) }
}

beforeAll(async () => {
  primary = await startHub({ storage: 'postgres', schema, config })
  standby = await startHub({ storage: 'postgres', schema, config })
}, 120_000)

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => {})
  await primary?.stop()
  await standby?.stop()
  await dropSchema(schema)
})

describe('two hubs on one database', () => {
  it('a stack deploys, updates, stops and is destroyed through the hub that does not hold its node', async () => {
    expect(standby.proc.output()).not.toContain('Created the first account')
    const onPrimary = await primary.login()
    const onStandby = await standby.login()
    agentKey = (await primary.request('POST', '/api/keys', { token: onPrimary, body: { type: 'agent', name: 'ha' } })).body.key
    agents.push(await connectAgent(primary, agentKey, 'ha-node', answer, 'ha-node-id'))
    // Until the primary has stored the registration, the standby answers 404: wait for the node itself.
    await eventually(async () => ((await standby.request('GET', '/api/nodes/ha-node', { token: onStandby })).body.status === 'online' ? true : undefined), 10_000, 'the node online on the standby')

    // "Let the hub choose": the standby picks the node the primary holds.
    const deployed = await standby.request('POST', '/api/stacks/deploy?wait=true', { token: onStandby, body: { name: 'ha-stack', services: { web: { image: 'nginx' } } } })
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200)
    expect(deployed.body).toMatchObject({ status: 'running', node: 'ha-node' })
    // The command's record is finished as soon as the caller has its answer, on either hub.
    const command = await primary.request('GET', `/api/commands/${deployed.body.command.id}`, { token: onPrimary })
    expect(command.body).toMatchObject({ status: 'success', tool: 'deploy_stack' })

    const updated = await standby.request('PATCH', '/api/stacks/ha-stack/services/web?wait=true', { token: onStandby, body: { image: 'nginx:2' } })
    expect(updated.status, JSON.stringify(updated.body)).toBe(200)
    expect(updated.body.command.status).toBe('success')
    const stopped = await standby.request('POST', '/api/stacks/ha-stack/stop?wait=true', { token: onStandby })
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200)
    expect((await primary.request('GET', '/api/stacks/ha-stack', { token: onPrimary })).body.status).toBe('stopped')

    const blueprints = await standby.request('GET', '/api/nodes/ha-node/blueprints', { token: onStandby })
    expect(blueprints.status, JSON.stringify(blueprints.body)).toBe(200)
    expect(JSON.stringify(blueprints.body)).toContain('redis')

    const destroyed = await standby.request('DELETE', '/api/stacks/ha-stack?wait=true', { token: onStandby })
    expect(destroyed.status, JSON.stringify(destroyed.body)).toBe(200)
    expect((await primary.request('GET', '/api/stacks/ha-stack', { token: onPrimary })).status).toBe(404)
  }, 90_000)

  it('a deploy asked on a hub that dies before the node answers still settles: the holding hub applies it', async () => {
    const asker = await startHub({ storage: 'postgres', schema, config })
    const onAsker = await asker.login()
    const onPrimary = await primary.login()
    let go!: () => void
    held = { asked: false, go: new Promise<void>((resolve) => (go = resolve)) }
    void asker.request('POST', '/api/stacks/deploy?wait=true', { token: onAsker, body: { name: 'orphan-stack', targetNode: 'ha-node', services: { web: { image: 'nginx' } } } }).catch(() => {})
    await eventually(async () => held!.asked, 10_000, 'the node to receive the deploy')
    await asker.proc.stop('SIGKILL')
    go()
    const settled = await eventually(async () => {
      const body = (await primary.request('GET', '/api/stacks/orphan-stack', { token: onPrimary })).body
      return body?.status === 'running' ? body : undefined
    }, 20_000, 'the stack running')
    expect(settled.node).toBe('ha-node')
  }, 60_000)

  it('a redeploy the node rolls back, asked on a hub that dies before the node answers: the holding hub restores the previous definition', async () => {
    const onPrimary = await primary.login()
    held = undefined
    const first = await primary.request('POST', '/api/stacks/deploy?wait=true', { token: onPrimary, body: { name: 'undone-stack', targetNode: 'ha-node', services: { web: { image: 'nginx:1' } } } })
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    const asker = await startHub({ storage: 'postgres', schema, config })
    const onAsker = await asker.login()
    let go!: () => void
    held = { asked: false, go: new Promise<void>((resolve) => (go = resolve)) }
    void asker.request('POST', '/api/stacks/deploy?wait=true', { token: onAsker, body: { name: 'undone-stack', targetNode: 'ha-node', services: { web: { image: 'nginx:broken', ports: ['8080:80'] }, worker: { image: 'busybox' } } } }).catch(() => {})
    await eventually(async () => held!.asked, 10_000, 'the node to receive the redeploy')
    await asker.proc.stop('SIGKILL')
    go()
    const settled = await eventually(async () => {
      const body = (await primary.request('GET', '/api/stacks/undone-stack', { token: onPrimary })).body
      return body?.status === 'running' && body.errorMessage ? body : undefined
    }, 20_000, 'the stack settled as rolled back')
    held = undefined
    expect(settled.errorMessage).toMatch(/^rolled back: web: exited with status 3/)
    // The definition it runs again, not the one the node undid: one service, no ports.
    expect(settled.services).toEqual([expect.objectContaining({ name: 'web', image: 'nginx:1', status: 'running', ports: [] })])
  }, 60_000)

  it('a node whose hub died reads reconnecting on the other hub, and online again once its agent reconnects there', async () => {
    const onStandby = await standby.login()
    await primary.proc.stop('SIGKILL')
    await agents[0]!.close().catch(() => {})
    const seen = await eventually(async () => {
      const body = (await standby.request('GET', '/api/nodes', { token: onStandby })).body
      const node = body.nodes.find((n: { id: string }) => n.id === 'ha-node-id')
      return node?.status === 'reconnecting' ? node : undefined
    }, 20_000, 'the node reconnecting on the standby')
    expect(seen.hostname).toBe('ha-node')
    const refused = await standby.request('GET', '/api/nodes/ha-node/blueprints', { token: onStandby })
    expect(refused.status).toBe(503)
    expect(refused.body.message).toMatch(/reconnecting/)

    agents.push(await connectAgent(standby, agentKey, 'ha-node', answer, 'ha-node-id'))
    await eventually(async () => ((await standby.request('GET', '/api/nodes/ha-node', { token: onStandby })).body.status === 'online' ? true : undefined), 10_000, 'the node online again')
    expect((await standby.request('GET', '/api/nodes/ha-node/blueprints', { token: onStandby })).status).toBe(200)
  }, 60_000)
})
