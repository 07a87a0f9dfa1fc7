// What a plugin on the hub hears on `ctx.bus`: nodes registering, going offline and being removed,
// stacks deployed, failed and destroyed, as documented in docs/plugins.md. The hub runs in-process
// with a listening plugin; agents speak the real protocol.
import * as signalR from '@microsoft/signalr'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRole, type RunningRole } from '../../roles/start-role.ts'
import { definePlugin, type ThreshEvents } from '../../core/index.ts'
import type { AgentCommand, CommandOutcome } from '../../lib/agent-session/agent/index.ts'
import { repoRoot, tempHome } from '../support/process.ts'
import { agentInfo, connectAgent, eventually, metricsSample, type TestAgent } from './support.ts'

const LIFECYCLE = ['node:registered', 'node:offline', 'node:removed', 'stack:deployed', 'stack:failed', 'stack:destroyed'] as const
type Lifecycle = (typeof LIFECYCLE)[number]

const heard: Array<{ name: Lifecycle; payload: ThreshEvents[Lifecycle] }> = []
// A plugin as an author would write one: it listens on ctx.bus and nothing else.
const listener = definePlugin(() => ({
  name: 'lifecycle-listener',
  setup(ctx) {
    for (const name of LIFECYCLE) ctx.bus.on(name, (payload) => heard.push({ name, payload }))
  },
}))

const PASSWORD = 'plugin-events-password'
let hub: RunningRole
let token: string
let agentKey: string
const agents: TestAgent[] = []

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(hub.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: await response.json().catch(() => undefined) }
}

async function waitToHear<K extends Lifecycle>(name: K, match: (payload: ThreshEvents[K]) => boolean, timeoutMs = 10_000): Promise<ThreshEvents[K]> {
  const found = await eventually(async () => heard.find((e) => e.name === name && match(e.payload as ThreshEvents[K])), timeoutMs, `${name} to be emitted`)
  return found!.payload as ThreshEvents[K]
}

async function agent(hostname: string, handler?: (command: AgentCommand) => Promise<CommandOutcome>): Promise<TestAgent> {
  const connected = await connectAgent(hub, agentKey, hostname, handler)
  agents.push(connected)
  await waitToHear('node:registered', (e) => e.nodeId === connected.agentId)
  return connected
}

/** An agent that keeps reporting, so the offline sweep leaves it alone while it runs stacks. */
async function reportingAgent(hostname: string, handler: (command: AgentCommand) => Promise<CommandOutcome>) {
  const connected = await agent(hostname, handler)
  const timer = setInterval(() => void connected.client.sendMetrics(metricsSample(connected.agentId)).catch(() => {}), 200)
  const close = connected.close
  connected.close = async () => {
    clearInterval(timer)
    await close()
  }
  return connected
}

const stack = (name: string, targetNode: string) => ({
  name,
  targetNode,
  services: { db: { image: 'postgres:16-alpine' }, api: { image: 'example/api:1', depends_on: ['db'] } },
})

beforeAll(async () => {
  hub = await startRole({
    role: 'hub',
    env: {},
    flags: {
      host: '127.0.0.1',
      port: 0,
      tls: false,
      logLevel: 'silent',
      dataDir: tempHome('thresh-plugin-events-'),
      storage: 'memory',
      adminPassword: PASSWORD,
      offlineAfter: '1s',
      staleAfter: '5s',
      commandTimeout: '2s',
    },
    plugins: [listener()],
  })
  const login = await fetch(`${hub.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  })
  token = ((await login.json()) as { accessToken: string }).accessToken
  agentKey = (await api('POST', '/api/keys', { type: 'agent', name: 'plugin-events' })).body.key
}, 60_000)

afterAll(async () => {
  for (const a of agents) await a.close().catch(() => {})
  await hub?.stop()
})

describe('a plugin listening on the hub', () => {
  it('hears a node register, go offline when its agent disconnects, and be removed by a user', async () => {
    const node = await agent('events-node')
    const registered = await waitToHear('node:registered', (e) => e.nodeId === node.agentId)
    expect(registered).toEqual({ accountId: expect.any(String), nodeId: node.agentId, hostname: 'events-node', connectionTier: 'hub', transport: 'signalr', keyId: expect.any(String) })

    await node.close()
    const offline = await waitToHear('node:offline', (e) => e.nodeId === node.agentId && e.reason === 'disconnected')
    expect(offline).toEqual({ accountId: registered.accountId, nodeId: node.agentId, reason: 'disconnected', lastSeenAt: expect.any(String) })

    expect((await api('DELETE', `/api/nodes/${node.agentId}`)).status).toBe(200)
    expect(await waitToHear('node:removed', (e) => e.nodeId === node.agentId)).toEqual({ accountId: registered.accountId, nodeId: node.agentId, reason: 'removed' })
  })

  it('hears a node behind an external mid-tier register, with the mid-tier as its tier', async () => {
    const midKey = (await api('POST', '/api/keys', { type: 'midtier', name: 'events-region' })).body.key
    const midtier = new signalR.HubConnectionBuilder()
      .withUrl(`${hub.url}/midtierhub`, { accessTokenFactory: () => midKey, transport: signalR.HttpTransportType.WebSockets })
      .configureLogging(signalR.LogLevel.None)
      .build()
    await midtier.start()
    try {
      await midtier.invoke('RegisterMidTier', { midtierId: 'events-eu' })
      await midtier.invoke('RegisterAgents', [agentInfo('events-far-agent', 'events-far-node')])
      const registered = await waitToHear('node:registered', (e) => e.nodeId === 'events-far-agent')
      expect(registered).toEqual({ accountId: expect.any(String), nodeId: 'events-far-agent', hostname: 'events-far-node', connectionTier: 'midtier-events-eu' })
    } finally {
      await midtier.stop()
    }
  })

  it('hears a silent node go offline, and removed once it has been gone for staleAfter', async () => {
    const node = await agent('events-silent')
    expect(await waitToHear('node:offline', (e) => e.nodeId === node.agentId)).toMatchObject({ nodeId: node.agentId, reason: 'silent' })
    await node.close()
    expect(await waitToHear('node:removed', (e) => e.nodeId === node.agentId, 15_000)).toMatchObject({ nodeId: node.agentId, reason: 'stale' })
  }, 30_000)

  it('hears a stack deployed with its services, and destroyed', async () => {
    const node = await reportingAgent('events-stacks', async (command) => {
      const args = command.arguments as { stackId: string; stackName: string; services?: Array<{ name: string; image: string }> }
      if (command.tool !== 'deploy_stack') return { success: true, output: JSON.stringify({ stackId: args.stackId }) }
      const services = args.services!.map((s) => ({ name: s.name, image: s.image, status: 'running' }))
      return { success: true, output: JSON.stringify({ stackId: args.stackId, stack: { name: args.stackName, status: 'running', services } }) }
    })
    const deploy = await api('POST', '/api/stacks/deploy?wait=true', stack('events-ok', 'events-stacks'))
    expect(deploy, JSON.stringify(deploy.body)).toMatchObject({ status: 200 })
    const deployed = await waitToHear('stack:deployed', (e) => e.name === 'events-ok')
    expect(deployed).toEqual({
      accountId: expect.any(String),
      stackId: deploy.body.id,
      name: 'events-ok',
      nodeId: node.agentId,
      commandId: deploy.body.command.id,
      status: 'running',
      services: [
        { name: 'db', image: 'postgres:16-alpine', status: 'running' },
        { name: 'api', image: 'example/api:1', status: 'running' },
      ],
    })

    expect((await api('DELETE', '/api/stacks/events-ok?wait=true')).status).toBe(200)
    expect(await waitToHear('stack:destroyed', (e) => e.name === 'events-ok')).toEqual({
      accountId: deployed.accountId,
      stackId: deployed.stackId,
      name: 'events-ok',
      nodeId: node.agentId,
      forced: false,
    })
  })

  it('hears a failed deploy with the reason and the failed service, and one that timed out', async () => {
    await reportingAgent('events-failing', async (command) => {
      const args = command.arguments as { stackId: string; stackName: string }
      if (args.stackName === 'events-slow') return new Promise<never>(() => {})
      const services = [
        { name: 'db', image: 'postgres:16-alpine', status: 'running' },
        { name: 'api', image: 'example/api:1', status: 'error', error: 'pull access denied for example/api' },
      ]
      const reason = "Service 'api' failed to start: pull access denied for example/api"
      return { success: false, error: reason, output: JSON.stringify({ stackId: args.stackId, stack: { name: args.stackName, status: 'error', services, error: reason } }) }
    })
    const deploy = await api('POST', '/api/stacks/deploy?wait=true', stack('events-bad', 'events-failing'))
    expect(deploy, JSON.stringify(deploy.body)).toMatchObject({ status: 409, body: { error: 'command_failed' } })
    expect(await waitToHear('stack:failed', (e) => e.name === 'events-bad')).toMatchObject({
      stackId: deploy.body.stack.id,
      commandId: deploy.body.command.id,
      operation: 'deploy_stack',
      reason: "Service 'api' failed to start: pull access denied for example/api",
      timedOut: false,
      failedServices: [{ name: 'api', error: 'pull access denied for example/api' }],
    })

    await api('POST', '/api/stacks/deploy', stack('events-slow', 'events-failing'))
    expect(await waitToHear('stack:failed', (e) => e.name === 'events-slow')).toMatchObject({
      operation: 'deploy_stack',
      reason: 'Node events-failing did not answer deploy_stack within 2 s.',
      timedOut: true,
      failedServices: [],
    })
    expect(heard.some((e) => e.name === 'stack:deployed' && (e.payload as ThreshEvents['stack:deployed']).name === 'events-bad')).toBe(false)
  })

  it('can rely on every event docs/plugins.md lists for the hub and uses in its examples', () => {
    const docs = readFileSync(join(repoRoot, 'docs/plugins.md'), 'utf8')
    const heardNames = new Set(heard.map((e) => e.name))
    for (const name of LIFECYCLE) {
      expect(heardNames, `${name} was not emitted`).toContain(name)
      expect(docs, `docs/plugins.md does not document ${name}`).toContain(`| \`${name}\` |`)
    }
    const examples = [...docs.matchAll(/bus\.on\('([^']+)'/g)].map((m) => m[1]!)
    expect(examples.length).toBeGreaterThan(0)
    for (const name of examples.filter((n) => !n.startsWith('agent:'))) expect(heardNames, `the docs example listens to ${name}`).toContain(name)
  })
})
