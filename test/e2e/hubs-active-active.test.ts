// Three hub processes on one PostgreSQL (issue #17), two mid-tiers and real agents on Docker spread
// over them: every hub deploys, updates, stops and destroys a stack on a node another hub holds; a hub
// killed with -9 during a deploy leaves the deploy finished through another hub (or failed with its
// reason), never hanging, and the stack settled; its nodes read "reconnecting" until their agents are back.
import type Docker from 'dockerode'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { freePort } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import {
  createHub,
  createMidtier,
  databaseUrl,
  deployFlowThroughHub,
  dropSchema,
  eventually,
  newSchema,
  removeStackObjects,
  startAgent,
  type HubProcess,
  type MidtierProcess,
  type RunningAgent,
} from './support.ts'

requireTool('docker')
requireTool('postgres')

const schema = newSchema()
const prefix = uniqueName('aa')
// Every hub opens the stack secrets any other sealed: one key for all of them.
const hubConfig = { hubLeaseTtl: '2s', offlineAfter: '2m', commandTimeout: '90s', stackSecretsKey: randomBytes(32).toString('hex') }
let docker: Docker
const hubs: HubProcess[] = []
const mids: MidtierProcess[] = []
const agents = new Map<string, RunningAgent & { id: string }>()
let token: string

async function nodeStatus(hub: HubProcess, id: string): Promise<string | undefined> {
  const reply = await hub.request('GET', `/api/nodes/${id}`, { token })
  return reply.status === 200 ? reply.body.status : undefined
}

async function agentOn(name: string, config: Record<string, unknown>) {
  const agent = await startAgent({ metricsInterval: '1s', reconnectDelay: '300ms', pluginOptions: { 'runtime-docker': { proxy: false } }, ...config, nodeName: name })
  const { agentId } = await agent.until('connected', undefined, 30_000)
  agents.set(name, { ...agent, id: agentId })
}

beforeAll(async () => {
  docker = await connectDocker()
  for (let i = 0; i < 3; i++) hubs.push(await createHub({ databaseUrl, schema, config: hubConfig }))
  token = await hubs[0]!.login()
  const liveKey = (await hubs[0]!.createKey(token, 'agent', 'aa-agents')).key
  const midKey = (await hubs[0]!.createKey(token, 'midtier', 'aa-mids')).key
  // One hub URL per mid-tier: mid-tier 0 on hub 0, mid-tier 1 on hub 1; hub 2 holds agents connected straight to it.
  mids.push(await createMidtier(hubs[0]!.url, midKey), await createMidtier(hubs[1]!.url, midKey))
  await Promise.all([
    agentOn(`${prefix}-m0`, { midtierUrl: mids[0]!.url, apiKey: liveKey }),
    agentOn(`${prefix}-m1`, { midtierUrl: mids[1]!.url, apiKey: liveKey }),
    // Fails over to hub 1 when hub 2 dies.
    agentOn(`${prefix}-h2`, { midtierUrl: hubs[2]!.url, fallbackUrl: hubs[1]!.url, autoFailover: true, failbackDelay: '10m', apiKey: liveKey }),
    // Knows only hub 2: reconnecting while hub 2 is down.
    agentOn(`${prefix}-h2only`, { midtierUrl: hubs[2]!.url, apiKey: liveKey }),
  ])
  for (const hub of hubs) {
    for (const agent of agents.values()) await eventually(`node ${agent.id} online on ${hub.url}`, async () => (await nodeStatus(hub, agent.id)) === 'online', 30_000)
  }
}, 240_000)

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.proc.stop('SIGKILL')))
  for (const mid of mids) await mid.kill()
  for (const hub of hubs) await hub.kill()
  if (docker) for (const suffix of ['0', '1', '2', 'kill']) await removeStackObjects(docker, `${prefix}-s${suffix}`)
  await dropSchema(schema)
}, 60_000)

describe('three hubs on one PostgreSQL', () => {
  it('each hub deploys, updates, stops and destroys a stack on a node another hub holds', async () => {
    // Hub 0 -> the node mid-tier 1 relays to hub 1; hub 1 -> the node on hub 2; hub 2 -> the node mid-tier 0 relays to hub 0.
    const targets = [`${prefix}-m1`, `${prefix}-h2`, `${prefix}-m0`]
    for (let i = 0; i < 3; i++) {
      await deployFlowThroughHub({ hub: hubs[i]!, token, docker, stack: `${prefix}-s${i}`, node: targets[i]! })
    }
    expect((await agents.get(`${prefix}-m1`)!.status()).commandsExecuted).toBeGreaterThanOrEqual(4)
    expect(await mids[1]!.metric('midtier_commands_routed_total')).toBeGreaterThanOrEqual(4)
  }, 240_000)

  it('a hub killed with -9 during a deploy: the deploy ends through another hub, the stack settles, its nodes reconnect', async () => {
    const stack = `${prefix}-skill`
    const port = await freePort()
    const node = agents.get(`${prefix}-h2`)!
    const stranded = agents.get(`${prefix}-h2only`)!
    // Asked on hub 0 for the node hub 2 holds; hub 2 dies as soon as the command is on its way.
    const deploying = hubs[0]!.request('POST', '/api/stacks/deploy?wait=true', {
      token,
      body: { name: stack, targetNode: `${prefix}-h2`, services: { web: { image: 'thresh-test/busybox:1', ports: [`${port}:8080`] } } },
    })
    deploying.catch(() => {}) // awaited below; a failure before that is not an unhandled rejection
    await eventually('the deploy command relayed', async () => {
      const commands = (await hubs[0]!.request('GET', '/api/commands?limit=500', { token })).body
      const list: Array<Record<string, any>> = Array.isArray(commands) ? commands : (commands?.commands ?? [])
      return list.some((c) => c.tool === 'deploy_stack' && c.nodeId === node.id)
    }, 20_000)
    await hubs[2]!.kill()

    // The node hub 2 held and whose agent knows no other hub reads reconnecting on the others.
    await eventually('the stranded node reconnecting on hub 0', async () => (await nodeStatus(hubs[0]!, stranded.id)) === 'reconnecting', 20_000)
    // Each hub sees the dead heartbeat on its own next beat.
    await eventually('the stranded node reconnecting on hub 1', async () => (await nodeStatus(hubs[1]!, stranded.id)) === 'reconnecting', 20_000)

    // The caller gets an answer: done through hub 1 (where the agent failed over), or a failure that says why.
    const reply = await deploying
    if (reply.status !== 200) expect(reply.body.message, JSON.stringify(reply.body)).toMatch(/\w/)
    expect([200, 409, 503, 504]).toContain(reply.status)
    const settled = await eventually('the stack settled', async () => {
      const body = (await hubs[1]!.request('GET', `/api/stacks/${stack}`, { token })).body
      return body && !['deploying', 'updating'].includes(body.status) ? body : undefined
    }, 60_000)
    if (reply.status === 200) {
      expect(settled.status).toBe('running')
      const containers = await docker.listContainers({ filters: JSON.stringify({ label: [`thresh.stack=${stack}`] }) })
      expect(containers).toHaveLength(1)
    }
    expect((await node.status()).hubUrl).toBe(hubs[1]!.url)
    expect(await nodeStatus(hubs[0]!, node.id)).toBe('online')

    // Hub 2 comes back: the stranded agent reconnects there and its node is online everywhere.
    await hubs[2]!.start()
    await eventually('the stranded node online again', async () => (await nodeStatus(hubs[0]!, stranded.id)) === 'online', 30_000)
    const destroyed = await hubs[0]!.request('DELETE', `/api/stacks/${stack}?wait=true`, { token })
    expect(destroyed.status, JSON.stringify(destroyed.body)).toBe(200)
  }, 240_000)
})
