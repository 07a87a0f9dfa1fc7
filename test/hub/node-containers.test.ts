// Every container on a node (issue #13) end to end: a hub process, an agent session running the real
// agent tools on the real Docker engine, and the `thresh` CLI. Containers, images and volumes made
// here with plain Docker (not by thresh) are listed, grouped, acted on and removed; a hub stack's
// container is refused and named; environments from `node up` are listed and removed.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTools } from '../../plugins/agent-commands/tools.ts'
import { createDockerApi, createSystemCollector } from '../../plugins/metrics-system/index.ts'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'
import { spawnThresh, tempHome } from '../support/process.ts'
import { connectAgent, eventually, startHub, type TestAgent, type TestHub } from './support.ts'

let hub: TestHub
let token: string
let viewer: string
let agent: TestAgent
let docker: Docker
let runtime: ReturnType<typeof createDockerRuntime>
let account: string
const containers: string[] = []
const images: string[] = []
const volumes: string[] = []
const stacks: string[] = []
const cliHome = tempHome('thresh-h13b-cli-')

beforeAll(async () => {
  docker = await connectDocker()
  runtime = createDockerRuntime({ docker, proxy: false })
  hub = await startHub({ storage: 'memory', config: { commandTimeout: '60s', offlineAfter: '10m' } })
  token = await hub.login()
  const invitation = await hub.request('POST', '/api/invitations', { token, body: { role: 'viewer' } })
  viewer = (await hub.request('POST', '/api/invitations/accept', { body: { token: invitation.body.token, username: 'h13b-viewer', password: 'h13b-viewer-long-password' } })).body.accessToken
  const key = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'containers-node' } })).body.key as string
  account = /^thresh_live_([a-z0-9]+)_/.exec(key)![1]!
  const dataDir = tempHome('thresh-h13b-agent-')
  mkdirSync(join(dataDir, 'blueprints'))
  writeFileSync(join(dataDir, 'blueprints', 'h13b-web.json'), JSON.stringify({ name: 'h13b-web', description: 'test', services: [{ name: 'web', image: 'thresh-test/busybox:1' }] }))
  let tools: ReturnType<typeof createTools>
  agent = await connectAgent(hub, key, uniqueName('h13b-node'), (command) => tools(command))
  tools = createTools({
    runtime: () => runtime,
    account,
    dataDir,
    agentId: agent.agentId,
    statusUpdate: (update) => void agent.client.sendStatusUpdate(update).catch(() => {}),
    metrics: async () => ({}),
    versions: async () => ({}),
  })
}, 120_000)

afterAll(async () => {
  for (const name of stacks) await runtime?.destroy(name, { account }).catch(() => {})
  for (const name of containers) await docker?.getContainer(name).remove({ force: true }).catch(() => {})
  for (const name of volumes) await docker?.getVolume(name).remove().catch(() => {})
  for (const name of images) await docker?.getImage(name).remove({ force: true }).catch(() => {})
  await agent?.close()
  await hub?.stop()
})

const node = () => `/api/nodes/${agent.agentId}`

/** `thresh …` against the hub, signed in as the admin (or `as`). */
async function cli(args: string[], as = token): Promise<{ code: number | null; output: string }> {
  const proc = spawnThresh('node', [...args, '--hub', hub.url], { THRESH_HOME: cliHome, THRESH_CLI_TOKEN: as })
  const code = await proc.exited
  return { code, output: proc.output() }
}

async function run(name: string, options: { labels?: Record<string, string>; port?: number; volume?: string; start?: boolean } = {}): Promise<void> {
  containers.push(name)
  const c = await docker.createContainer({
    name,
    Image: 'thresh-test/busybox:1',
    Labels: options.labels ?? {},
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { ...(options.port ? { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(options.port) }] } } : {}), ...(options.volume ? { Binds: [`${options.volume}:/data`] } : {}) },
  })
  if (options.start !== false) await c.start()
}

type Listed = { name: string; state: string; [key: string]: any }
async function listed(): Promise<{ groups: Array<{ kind: string; name: string | null; containers: Listed[] }>; find(name: string): Listed | undefined }> {
  const reply = await hub.request('GET', `${node()}/containers`, { token: viewer })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  const groups = reply.body.groups as Array<{ kind: string; name: string | null; containers: Listed[] }>
  return { groups, find: (name) => groups.flatMap((g) => g.containers).find((c) => c.name === name) }
}

describe('every container on the node', () => {
  it('lists containers thresh did not create, grouped by Compose project, with state, ports, uptime and live usage', async () => {
    const project = uniqueName('h13bproj')
    const web = uniqueName('h13b-web')
    const idle = uniqueName('h13b-idle')
    const port = await freePort()
    await run(web, { labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': 'web' }, port })
    await run(idle, { start: false })
    await httpText(`http://127.0.0.1:${port}/env.txt`)

    const { groups, find } = await listed()
    const group = groups.find((g) => g.kind === 'compose' && g.name === project)
    expect(group?.containers.map((c) => c.name)).toEqual([web])
    expect(find(web)).toMatchObject({ state: 'running', image: 'thresh-test/busybox:1', restartCount: 0, ports: [`127.0.0.1:${port}->8080/tcp`], group: { kind: 'compose', name: project } })
    expect(find(web)!.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(find(web)!.memoryMB).toBeGreaterThan(0)
    expect(find(web)!.netRxBytes).toBeGreaterThan(0)
    expect(typeof find(web)!.cpuPercent).toBe('number')
    expect(find(idle)).toMatchObject({ state: 'created', group: { kind: 'other', name: null }, uptimeSeconds: null })
    expect(find(idle)!.memoryMB).toBeUndefined()

    const shown = await cli(['container', 'list', agent.hostname])
    expect(shown.code, shown.output).toBe(0)
    expect(shown.output).toContain(`Compose project ${project}`)
    expect(shown.output).toMatch(new RegExp(`${web}\\s+running\\s+thresh-test/busybox:1`))
    expect(shown.output).toContain(`127.0.0.1:${port}->8080/tcp`)
    const json = await cli(['container', 'list', agent.hostname, '--json'])
    expect(JSON.parse(json.output).groups.some((g: { name: string }) => g.name === project)).toBe(true)
  }, 120_000)

  it('stops, starts, restarts and removes a container thresh did not create; a viewer may only look', async () => {
    const name = uniqueName('h13b-act')
    const port = await freePort()
    await run(name, { port })
    const refused = await hub.request('POST', `${node()}/containers/${name}/stop`, { token: viewer })
    expect(refused.status).toBe(403)
    expect((await docker.getContainer(name).inspect()).State.Running).toBe(true)

    const stopped = await cli(['container', 'stop', agent.hostname, name])
    expect(stopped.code, stopped.output).toBe(0)
    expect(stopped.output).toContain(`Container '${name}' stopped`)
    expect((await docker.getContainer(name).inspect()).State.Running).toBe(false)
    expect((await listed()).find(name)!.state).toBe('exited')

    const started = await hub.request('POST', `${node()}/containers/${name}/start`, { token })
    expect(started.status, JSON.stringify(started.body)).toBe(200)
    expect(started.body).toMatchObject({ container: name, state: 'running' })
    await httpText(`http://127.0.0.1:${port}/env.txt`)
    const before = (await docker.getContainer(name).inspect()).State.StartedAt
    const restarted = await hub.request('POST', `${node()}/containers/${name}/restart`, { token })
    expect(restarted.body).toMatchObject({ state: 'running' })
    expect((await docker.getContainer(name).inspect()).State.StartedAt).not.toBe(before)

    const running = await hub.request('DELETE', `${node()}/containers/${name}`, { token })
    expect(running.status).toBe(409)
    expect(running.body.message).toMatch(/running container|stop|force/i)
    const removed = await cli(['container', 'remove', agent.hostname, name, '--force'])
    expect(removed.code, removed.output).toBe(0)
    await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 })

    const missing = await hub.request('POST', `${node()}/containers/${name}/start`, { token })
    expect(missing.status).toBe(404)
    expect(missing.body.message).toContain(`No container named '${name}'`)
    const bad = await hub.request('POST', `${node()}/containers/${encodeURIComponent('../x')}/start`, { token })
    expect(bad.status).toBe(400)
    expect(bad.body.message).toContain('path.container')
  }, 120_000)

  it("refuses to act on a thresh stack's container or volume, naming the stack, and leaves it running", async () => {
    const stack = uniqueName('h13bstack')
    stacks.push(stack)
    const deployed = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: stack, targetNode: agent.hostname, services: { web: { image: 'thresh-test/busybox:1', volumes: ['data:/data'] } } } })
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200)
    const { groups } = await listed()
    const group = groups.find((g) => g.kind === 'stack' && g.name === stack)!
    expect(group.containers).toHaveLength(1)
    const container = group.containers[0]!
    expect(container.managedBy).toMatchObject({ kind: 'stack', name: stack, service: 'web' })

    const refused = await hub.request('POST', `${node()}/containers/${container.name}/stop`, { token })
    expect(refused.status).toBe(409)
    expect(refused.body.error).toBe('managed_by_stack')
    expect(refused.body.message).toContain(`thresh stack '${stack}'`)
    const cliRefused = await cli(['container', 'remove', agent.hostname, container.name, '--force'])
    expect(cliRefused.code).not.toBe(0)
    expect(cliRefused.output).toContain(`belongs to thresh stack '${stack}'`)
    expect((await docker.getContainer(container.name).inspect()).State.Running).toBe(true)

    const vols = (await hub.request('GET', `${node()}/volumes`, { token: viewer })).body.volumes as Array<{ name: string; managedBy?: { name: string } }>
    const volume = vols.find((v) => v.managedBy?.name === stack)!
    const volumeRefused = await hub.request('DELETE', `${node()}/volumes/${volume.name}`, { token })
    expect(volumeRefused.status).toBe(409)
    expect(volumeRefused.body.message).toContain(`thresh stack '${stack}'`)
  }, 120_000)

  it('lists images with their use, removes one, and prunes unused ones by label without touching others', async () => {
    const tag = uniqueName('h13b-img')
    const label = `h13b.test=${tag}`
    const source = uniqueName('h13b-src')
    await run(source, { start: false })
    for (const v of ['1', '2']) {
      images.push(`${tag}:${v}`)
      await docker.getContainer(source).commit({ repo: tag, tag: v, changes: [`LABEL h13b.test=${tag}`, `ENV H13B=${v}`] })
    }
    const listedImages = (await hub.request('GET', `${node()}/images`, { token: viewer })).body.images as Array<{ tags: string[]; containers: number }>
    expect(listedImages.find((i) => i.tags.includes(`${tag}:1`))).toMatchObject({ containers: 0 })
    expect(listedImages.find((i) => i.tags.includes('thresh-test/busybox:1'))!.containers).toBeGreaterThan(0)
    const shown = await cli(['image', 'list', agent.hostname])
    expect(shown.output).toMatch(new RegExp(`${tag}:1\\s+\\w+\\s+[\\d.]+MiB\\s+.*unused`))

    const removed = await hub.request('DELETE', `${node()}/images/${encodeURIComponent(`${tag}:1`)}`, { token })
    expect(removed.status, JSON.stringify(removed.body)).toBe(200)
    expect(removed.body.untagged).toContain(`${tag}:1`)
    await expect(docker.getImage(`${tag}:1`).inspect()).rejects.toMatchObject({ statusCode: 404 })

    const pruned = await cli(['image', 'prune', agent.hostname, '--all', '--label', label])
    expect(pruned.code, pruned.output).toBe(0)
    expect(pruned.output).toContain(`untagged ${tag}:2`)
    await expect(docker.getImage(`${tag}:2`).inspect()).rejects.toMatchObject({ statusCode: 404 })
    await docker.getImage('thresh-test/busybox:2').inspect()

    const inUse = await hub.request('DELETE', `${node()}/images/${encodeURIComponent('thresh-test/busybox:1')}`, { token })
    expect(inUse.status).toBe(409)
    expect(inUse.body.message).toMatch(/container/)
  }, 120_000)

  it('lists volumes with the containers using them and removes only an unused one', async () => {
    const used = uniqueName('h13b-vol-used')
    const spare = uniqueName('h13b-vol-spare')
    volumes.push(used, spare)
    await docker.createVolume({ Name: used })
    await docker.createVolume({ Name: spare })
    const user = uniqueName('h13b-voluser')
    await run(user, { volume: used })
    const vols = (await hub.request('GET', `${node()}/volumes`, { token: viewer })).body.volumes as Array<{ name: string; containers: string[] }>
    expect(vols.find((v) => v.name === used)!.containers).toEqual([user])
    expect(vols.find((v) => v.name === spare)!.containers).toEqual([])

    const inUse = await cli(['volume', 'remove', agent.hostname, used])
    expect(inUse.code).not.toBe(0)
    expect(inUse.output).toContain(`Volume '${used}' is in use`)
    const removed = await cli(['volume', 'remove', agent.hostname, spare])
    expect(removed.code, removed.output).toBe(0)
    await expect(docker.getVolume(spare).inspect()).rejects.toMatchObject({ statusCode: 404 })
    await docker.getVolume(used).inspect()
    expect((await hub.request('DELETE', `${node()}/volumes/${spare}`, { token: viewer })).status).toBe(403)
  }, 120_000)

  it("carries each container's CPU and memory in the metrics stream and keeps them as history", async () => {
    const name = uniqueName('h13b-usage')
    await run(name)
    const collector = createSystemCollector({ threshVersion: '0.1.0', runtime: { name: 'node', version: process.version }, docker: createDockerApi() })
    await collector.collect()
    await new Promise((r) => setTimeout(r, 500))
    const sample = await collector.collect()
    expect(sample.containers.find((c) => c.name === name)).toMatchObject({ image: 'thresh-test/busybox:1', state: 'running', cpuPercent: expect.any(Number), memoryMB: expect.any(Number) })
    await agent.client.sendMetrics({ ...sample, agentId: agent.agentId })

    const detail = await eventually(async () => {
      const reply = await hub.request('GET', node(), { token: viewer })
      return (reply.body.lastMetrics?.containers ?? []).find((c: { name: string }) => c.name === name)
    }, 10_000, 'the container in lastMetrics')
    expect(detail).toMatchObject({ name, image: 'thresh-test/busybox:1', memoryMB: expect.any(Number), cpuPercent: expect.any(Number) })
    const history = await eventually(async () => {
      const reply = await hub.request('GET', `${node()}/containers/metrics?container=${name}`, { token: viewer })
      return reply.body.containers?.[0]
    }, 10_000, 'the container history')
    expect(history.name).toBe(name)
    expect(history.points).toHaveLength(1)
    expect(history.points[0].memoryMb).toBeGreaterThan(0)
    expect((await hub.request('GET', `${node()}/containers/metrics?container=${encodeURIComponent('a b')}`, { token: viewer })).status).toBe(400)
  }, 60_000)

  it('lists environments made with node up (not hub stacks) and removes one with its objects', async () => {
    const env = uniqueName('h13benv')
    stacks.push(env)
    const up = await cli(['node', 'up', agent.hostname, 'h13b-web', '--name', env])
    expect(up.code, up.output).toBe(0)
    const hubStack = uniqueName('h13bhubstack')
    stacks.push(hubStack)
    expect((await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: hubStack, targetNode: agent.hostname, services: { web: { image: 'thresh-test/busybox:1' } } } })).status).toBe(200)

    const listedEnvs = await hub.request('GET', `${node()}/environments`, { token: viewer })
    expect(listedEnvs.status).toBe(200)
    const names = (listedEnvs.body.environments as Array<{ name: string }>).map((e) => e.name)
    expect(names).toContain(env)
    expect(names).not.toContain(hubStack)
    const shown = await cli(['node', 'env', 'list', agent.hostname])
    expect(shown.output).toMatch(new RegExp(`${env}\\s+running\\s+web \\(thresh-test/busybox:1\\)`))

    const notEnv = await hub.request('DELETE', `${node()}/environments/${hubStack}`, { token })
    expect(notEnv.status).toBe(409)
    expect(notEnv.body.message).toContain(`thresh stack destroy ${hubStack}`)
    const removed = await cli(['node', 'env', 'remove', agent.hostname, env, '--yes'])
    expect(removed.code, removed.output).toBe(0)
    expect(await labelledObjects(docker, env)).toEqual([])
    expect((await hub.request('DELETE', `${node()}/environments/${env}`, { token })).status).toBe(404)
    const audit = await hub.request('GET', '/api/audit?limit=200', { token })
    expect(JSON.stringify(audit.body)).toContain('node.env-remove')
  }, 180_000)
})

