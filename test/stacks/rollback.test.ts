// Atomic stack updates on the real Docker engine: a redeploy that fails on any service puts every
// service it changed back as it was; a first deploy that fails can leave nothing behind.
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseStack, type ProgressEvent, type StackDefinition } from '../../lib/stack/index.ts'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'

const IMAGE = 'thresh-test/busybox:1'
let docker: Docker
let runtime: ReturnType<typeof createDockerRuntime>
const created: string[] = []

function stack(input: unknown): StackDefinition {
  const result = parseStack(input)
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  if (!created.includes(result.stack.name)) created.push(result.stack.name)
  return result.stack
}

async function containerIds(name: string): Promise<Record<string, string>> {
  const state = await runtime.status(name)
  return Object.fromEntries((state?.services ?? []).map((s) => [s.name, s.containerId ?? '']))
}

beforeAll(async () => {
  docker = await connectDocker()
  runtime = createDockerRuntime({ docker, proxy: false })
})

afterAll(async () => {
  for (const name of created) await runtime?.destroy(name).catch(() => {})
})

describe('a redeploy that fails', () => {
  // db and api change together; api's new definition crashes at start.
  const def = (name: string, port: number, level: string, fail: string) => ({
    name,
    services: {
      db: { image: IMAGE, env: { LEVEL: level }, volumes: ['data:/data'] },
      api: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`], depends_on: ['db'], env: { LEVEL: level, FAIL: fail } },
      web: { image: IMAGE, depends_on: ['api'] },
      extra: { image: IMAGE },
    },
  })

  it('rolls every changed service back, keeps the stack running and names the service that failed', async () => {
    const port = await freePort()
    const name = uniqueName('rbk')
    expect((await runtime.deploy(stack(def(name, port, 'one', '0')))).status).toBe('running')
    const before = await containerIds(name)
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`)).toContain('LEVEL=one')

    const events: ProgressEvent[] = []
    const { extra: _dropped, ...services } = def(name, port, 'two', '1').services
    const state = await runtime.deploy(stack({ name, services }), { onProgress: (e) => events.push(e) })
    expect(state.status).toBe('running')
    expect(state.rolledBack).toMatch(/^api: exited with status 3: failing on purpose/)
    expect(state.error).toBeUndefined()
    // The very containers that ran before, with their definitions: nothing of the failed deploy is left.
    expect(await containerIds(name)).toEqual(before)
    expect(state.services.map((s) => [s.name, s.status])).toEqual(expect.arrayContaining([['db', 'running'], ['api', 'running'], ['web', 'running'], ['extra', 'running']]))
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`)).toContain('LEVEL=one')
    const names = (await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`thresh.stack=${name}`] }) })).map((c) => c.Names[0])
    expect(names.sort()).toEqual(['api', 'db', 'extra', 'web'].map((s) => `/${name}_${s}`))
    expect(events.at(-1)).toMatchObject({ type: 'stack', status: 'running', message: expect.stringMatching(/^rolled back: api: /) })

    // Fixed, the same change goes through.
    expect((await runtime.deploy(stack(def(name, port, 'two', '0')))).status).toBe('running')
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`)).toContain('LEVEL=two')
  })

  it('keeps what started with rollback off', async () => {
    const port = await freePort()
    const name = uniqueName('rbn')
    await runtime.deploy(stack(def(name, port, 'one', '0')))
    const before = await containerIds(name)
    const state = await runtime.deploy(stack(def(name, port, 'two', '1')), { rollback: false })
    expect(state.status).toBe('error')
    expect(state.rolledBack).toBeUndefined()
    expect(state.error).toMatch(/^api: exited with status 3/)
    const after = await containerIds(name)
    expect(after.db).not.toBe(before.db)
    expect(state.services.find((s) => s.name === 'db')!.status).toBe('running')
    expect(state.services.find((s) => s.name === 'web')!.status).toBe('blocked')
    expect(after.extra).toBe(before.extra)
  })
})

describe('a first deploy that fails', () => {
  it('leaves no container, network or volume behind with rollback on', async () => {
    const name = uniqueName('rbf')
    const state = await runtime.deploy(
      // bad publishes a port: it counts as started once the port answers, so its crash is seen for certain.
      stack({ name, services: { db: { image: IMAGE, volumes: ['data:/data'] }, bad: { image: IMAGE, env: { FAIL: '1' }, ports: [`127.0.0.1:${await freePort()}:8080`], depends_on: ['db'] } } }),
      { rollback: true },
    )
    expect(state.rolledBack).toMatch(/^bad: exited with status 3/)
    expect(state.services).toEqual([])
    expect(await labelledObjects(docker, name)).toEqual([])
    expect(await runtime.status(name)).toBeUndefined()
  })

  it('keeps what started by default, as before', async () => {
    const name = uniqueName('rbd')
    const state = await runtime.deploy(stack({ name, services: { ok: { image: IMAGE }, bad: { image: IMAGE, env: { FAIL: '1' }, ports: [`127.0.0.1:${await freePort()}:8080`] } } }))
    expect(state.status).toBe('error')
    expect(state.services.find((s) => s.name === 'ok')!.status).toBe('running')
  })
})

describe('start detection from Docker events', () => {
  it('blocks the dependents of a service that only turns unhealthy, and starts them once it is healthy', async () => {
    const name = uniqueName('rbh')
    const def = (test: string) => ({
      name,
      services: {
        db: { image: IMAGE, healthcheck: { test, interval: '200ms', timeout: '1s', retries: 1 } },
        app: { image: IMAGE, depends_on: ['db'] },
      },
    })
    const sick = await runtime.deploy(stack(def('false')))
    expect(sick.services.find((s) => s.name === 'db')).toMatchObject({ status: 'error', error: 'its healthcheck failed' })
    expect(sick.services.find((s) => s.name === 'app')).toMatchObject({ status: 'blocked' })
    const well = await runtime.deploy(stack(def('true')))
    expect(well.status).toBe('running')
  })
})
