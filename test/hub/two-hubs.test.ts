// Two hub processes on one PostgreSQL (hub HA): one admin and one fleet state for both, and a command
// for a node connected to the other process is refused with 503 instead of silently lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { connectAgent, dropSchema, eventually, newSchema, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

const schema = newSchema()
let primary: TestHub
let standby: TestHub
let agent: TestAgent | undefined

beforeAll(async () => {
  primary = await startHub({ storage: 'postgres', schema, config: { offlineAfter: '10m' } })
  standby = await startHub({ storage: 'postgres', schema, config: { offlineAfter: '10m' } })
}, 120_000)

afterAll(async () => {
  await agent?.close().catch(() => {})
  await primary?.stop()
  await standby?.stop()
  await dropSchema(schema)
})

describe('two hubs on one database', () => {
  it('share accounts and nodes, and a command for a node held by the other hub is a 503', async () => {
    expect(standby.proc.output()).not.toContain('Created the first account')
    const onPrimary = await primary.login()
    const onStandby = await standby.login()
    const key = (await primary.request('POST', '/api/keys', { token: onPrimary, body: { type: 'agent', name: 'ha' } })).body.key
    agent = await connectAgent(primary, key, 'ha-node', async (command) => {
      const args = command.arguments as Record<string, any>
      return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: [] } }) }
    })
    // Until the primary has stored the registration, the standby answers 404: wait for the node itself.
    const seen = await eventually(async () => {
      const body = (await standby.request('GET', '/api/nodes/ha-node', { token: onStandby })).body
      return body.status === 'online' ? body : undefined
    }, 5000, 'the node online on the standby')
    expect(seen).toMatchObject({ status: 'online' })

    const refused = await standby.request('POST', '/api/stacks/deploy', { token: onStandby, body: { name: 'ha-stack', targetNode: 'ha-node', services: { web: { image: 'nginx' } } } })
    expect(refused.status).toBe(503)
    expect(refused.body.error).toBe('node_unreachable')
    expect((await standby.request('GET', '/api/stacks/ha-stack', { token: onStandby })).status).toBe(404)
    const blueprints = await standby.request('GET', '/api/nodes/ha-node/blueprints', { token: onStandby })
    expect(blueprints.status).toBe(503)

    const deployed = await primary.request('POST', '/api/stacks/deploy?wait=true', { token: onPrimary, body: { name: 'ha-stack', targetNode: 'ha-node', services: { web: { image: 'nginx' } } } })
    expect(deployed.status).toBe(200)
    expect((await standby.request('GET', '/api/stacks/ha-stack', { token: onStandby })).body).toMatchObject({ status: 'running', node: 'ha-node' })
  }, 60_000)
})
