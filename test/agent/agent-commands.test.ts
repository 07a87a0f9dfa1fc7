// The hub's commands executed by a real agent process on the real Docker engine: deploy_stack in the
// hub's shape with per-service status streamed, at most once per commandId, metrics flowing during a
// long deploy, stop/start/destroy, blueprints and environments.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'
import { requireTool } from '../support/require.ts'
import { startAgent, waitFor, type RunningAgent } from './agent-helpers.ts'
import { startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'

requireTool('docker')
const IMAGE = 'thresh-test/busybox:1'
const SLOW_HEALTH = { test: 'true', interval: '2600ms' }
const ACCOUNT = 'acct1'
let docker: Docker
let hub: AgentTestServer
let agent: RunningAgent
let agentId: string
const stacks: string[] = []
let commandSeq = 0
const nextId = () => `cmd-${process.pid}-${++commandSeq}-${Math.random().toString(36).slice(2, 6)}`

beforeAll(async () => {
  docker = await connectDocker()
  hub = await startAgentTestServer()
  agent = await startAgent({
    midtierUrl: hub.url,
    metricsInterval: '250ms',
    pluginOptions: { 'runtime-docker': { proxy: false } },
  })
  agentId = (await agent.until('connected')).agentId
  const home = agent.home
  mkdirSync(join(home, 'blueprints'), { recursive: true })
  writeFileSync(
    join(home, 'blueprints', 'busybox-web.json'),
    JSON.stringify({ name: 'busybox-web', description: 'test web server', services: [{ name: 'web', image: IMAGE, env: { ROLE: 'blueprint' } }] }),
  )
}, 60_000)

afterAll(async () => {
  await agent?.stop()
  await hub?.stop()
  const runtime = createDockerRuntime({ docker, proxy: false, account: ACCOUNT })
  for (const name of stacks) await runtime.destroy(name).catch(() => {})
})

const run = (tool: string, args: Record<string, unknown>, commandId = nextId()) => hub.send(agentId, { commandId, tool, arguments: args }, 60_000)

describe('stack commands on the real Docker engine', () => {
  it('deploys the hub\'s deploy_stack payload, streams each service\'s status under the hub\'s stackId, and keeps metrics flowing meanwhile', async () => {
    const name = uniqueName('agt')
    stacks.push(name)
    const port = await freePort()
    const stackId = `stk-${name}`
    const before = Date.now()
    const result = await run('deploy_stack', {
      stackId,
      stackName: name,
      account: ACCOUNT,
      traefik: false,
      services: [
        // Its first healthcheck runs after one interval: a deploy that takes seconds.
        { name: 'db', image: IMAGE, ports: [], volumes: ['data:/data'], env: { ROLE: 'db' }, dependsOn: [], traefik: false, healthcheck: SLOW_HEALTH },
        { name: 'api', image: IMAGE, ports: [`127.0.0.1:${port}:8080`], volumes: [], env: { DB: 'http://db:8080' }, dependsOn: ['db'], traefik: false },
      ],
    })
    const after = Date.now()
    expect(result.error).toBe('')
    expect(result.success).toBe(true)
    const output = JSON.parse(result.output) as { stackId: string; stack: { status: string; services: Array<{ name: string; status: string }> } }
    expect(output.stackId).toBe(stackId)
    expect(output.stack.status).toBe('running')
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`)).toContain('DB=http://db:8080')
    expect((await labelledObjects(docker, name)).filter((o) => o.startsWith('container')).length).toBe(2)

    const statuses = await waitFor(
      () => hub.events.statuses.filter((s) => s.update.stackId === stackId),
      (list) => list.filter((s) => s.update.status === 'running').length >= 2,
      'running statuses for both services',
    )
    for (const service of ['db', 'api']) {
      const seen = statuses.filter((s) => s.update.serviceName === service).map((s) => s.update.status)
      expect(seen[0]).toBe('pending')
      expect(seen).toContain('deploying')
      expect(seen).toContain('running')
    }
    // Streamed as it happened, not sent in one batch at the end.
    const dbDeploying = statuses.find((s) => s.update.serviceName === 'db' && s.update.status === 'deploying')!
    expect(dbDeploying.at).toBeLessThan(after - 2000)

    expect(after - before).toBeGreaterThan(2500)
    const during = hub.events.metrics.filter((m) => m.agentId === agentId && m.at >= before && m.at <= after).map((m) => m.at)
    expect(during.length).toBeGreaterThanOrEqual(3)
    const gaps = during.slice(1).map((t, i) => t - during[i]!)
    // Had the deploy held metrics up, one gap would span it (over 2.5 s).
    expect(Math.max(...gaps)).toBeLessThan(1500)
  })

  it('does not execute a repeated commandId twice, and answers the repeat with the first result', async () => {
    const name = uniqueName('agd')
    stacks.push(name)
    const commandId = nextId()
    const payload = { stackId: name, stackName: name, account: ACCOUNT, traefik: false, services: [{ name: 'one', image: IMAGE, ports: [], volumes: [], env: {}, dependsOn: [] }] }
    const executedBefore = (await agent.status()).commandsExecuted
    const [first, second] = await Promise.all([run('deploy_stack', payload, commandId), run('deploy_stack', payload, commandId)])
    expect(first.success).toBe(true)
    expect(second).toEqual(first)
    const third = await run('deploy_stack', payload, commandId)
    expect(third.timestamp).toBe(first.timestamp)
    expect((await agent.status()).commandsExecuted).toBe(executedBefore + 1)
    const destroyed = await run('destroy_stack', { stackName: name, account: ACCOUNT })
    expect(JSON.parse(destroyed.output)).toMatchObject({ destroyed: true })
  })

  it('finishes a deploy interrupted by a dropped connection exactly once, and the redelivered command gets its result', async () => {
    const name = uniqueName('agr')
    stacks.push(name)
    const executedBefore = (await agent.status()).commandsExecuted
    const registersBefore = hub.events.registers.filter((r) => r.agent.agentId === agentId).length
    const pending = run('deploy_stack', {
      stackName: name,
      account: ACCOUNT,
      services: [
        { name: 'first', image: IMAGE, dependsOn: [], healthcheck: SLOW_HEALTH },
        { name: 'second', image: IMAGE, dependsOn: ['first'] },
      ],
    })
    await waitFor(() => hub.events.statuses.filter((s) => s.update.stackId === name && s.update.status === 'deploying').length, (n) => n > 0, 'the deploy to start')
    hub.gateway().disconnectAgent(agentId, 'dropped by the test')
    const result = await pending
    expect(result.success).toBe(true)
    expect(hub.events.registers.filter((r) => r.agent.agentId === agentId).length).toBeGreaterThan(registersBefore)
    expect((await agent.status()).commandsExecuted).toBe(executedBefore + 1)
    expect((await labelledObjects(docker, name)).filter((o) => o.startsWith('container')).length).toBe(2)
    await run('destroy_stack', { stackName: name, account: ACCOUNT })
  })

  it('stops a stack keeping its volume, starts it again, and destroys it with its volume', async () => {
    const name = uniqueName('ags')
    stacks.push(name)
    const port = await freePort()
    const full = { name, services: { web: { image: `docker:${IMAGE}`, ports: [`127.0.0.1:${port}:8080`], volumes: ['keep:/data'] } } }
    expect((await run('deploy_stack', { stack: full, account: ACCOUNT })).success).toBe(true)
    await httpText(`http://127.0.0.1:${port}/cgi-bin/write?kept`)

    const stopped = await run('stop_stack', { stackName: name, account: ACCOUNT })
    expect(stopped.success).toBe(true)
    expect(JSON.parse(stopped.output).stack.services[0].status).toBe('stopped')
    await waitFor(() => hub.events.statuses.filter((s) => s.update.stackId === name && s.update.status === 'stopped'), (l) => l.length > 0, 'a stopped status')

    expect((await run('start_stack', { stackName: name, account: ACCOUNT })).success).toBe(true)
    expect(await httpText(`http://127.0.0.1:${port}/cgi-bin/read`)).toBe('kept')

    const envs = JSON.parse((await run('list_environments', { account: ACCOUNT })).output) as Array<{ name: string; status: string }>
    expect(envs.find((e) => e.name === name)).toMatchObject({ status: 'running' })

    expect((await run('destroy_stack', { stackName: name, account: ACCOUNT })).success).toBe(true)
    expect(await labelledObjects(docker, name)).toEqual([])
    expect((await run('stop_stack', { stackName: name, account: ACCOUNT })).error).toMatch(/does not exist on this node/)
  })

  it('rejects an invalid stack with every problem and deploys nothing', async () => {
    const name = uniqueName('agx')
    const result = await run('deploy_stack', { stackName: name, services: [{ name: 'a', image: IMAGE, dependsOn: ['b'] }, { name: 'b', image: IMAGE, dependsOn: ['a'] }, { name: 'Bad', image: '' }] })
    expect(result.success).toBe(false)
    expect(result.error).toMatch(/Circular dependency detected/)
    expect(result.error).toMatch(/services\[2\]/)
    expect(await labelledObjects(docker, name)).toEqual([])
  })

  it('lists shipped and THRESH_HOME blueprints and creates an environment from one', async () => {
    const blueprints = JSON.parse((await run('list_blueprints', {})).output) as Array<{ name: string; source: string }>
    expect(blueprints.map((b) => b.name)).toEqual(expect.arrayContaining(['busybox-web', 'nginx-web', 'postgres', 'python-dev', 'redis']))
    expect(blueprints.find((b) => b.name === 'busybox-web')!.source).toBe('user')

    const name = uniqueName('age')
    stacks.push(name)
    const created = await run('create_environment', { blueprint: 'busybox-web', name, account: ACCOUNT })
    expect(created.error).toBe('')
    expect(JSON.parse(created.output).stack).toMatchObject({ name, status: 'running' })
    expect((await run('create_environment', { blueprint: 'no-such-blueprint', name })).error).toMatch(/Unknown blueprint 'no-such-blueprint'.*busybox-web/)
    await run('destroy_stack', { stackName: name, account: ACCOUNT })
  })

  it('answers get_version, get_metrics and an unknown tool', async () => {
    const version = JSON.parse((await run('get_version', {})).output)
    expect(version).toMatchObject({ thresh: '0.1.0', agentId })
    const metrics = JSON.parse((await run('get_metrics', {})).output)
    expect(metrics.agentId).toBe(agentId)
    expect(metrics.cpuPerCore.length).toBeGreaterThan(0)
    const unknown = await run('format_disk', {})
    expect(unknown).toMatchObject({ success: false })
    expect(unknown.error).toMatch(/Unknown tool 'format_disk'/)
  })
})
