// Stacks on the real Docker engine: what a user of `thresh stack up` sees, checked with real requests.
import { createServer, type Server } from 'node:net'
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
  created.push(result.stack.name)
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

describe('deploying a stack', () => {
  it('starts a map-form stack in dependency order with env injected, DNS between services and published ports', async () => {
    const [dbPort, webPort] = [await freePort(), await freePort()]
    const name = uniqueName('tmap')
    const events: ProgressEvent[] = []
    const state = await runtime.deploy(
      stack({
        name,
        services: {
          db: { image: `docker:${IMAGE}`, ports: [`127.0.0.1:${dbPort}:8080`], volumes: ['data:/data'], env: { ROLE: 'db' } },
          api: { image: IMAGE, ports: ['127.0.0.1:0:8080'.replace(':0:', `:${await freePort()}:`)], depends_on: ['db'], env: { DB_URL: 'http://${db.host}:${db.port}/x' } },
          web: { image: IMAGE, ports: [`127.0.0.1:${webPort}:8080`], depends_on: ['api'] },
        },
      }),
      { onProgress: (e) => events.push(e) },
    )
    expect(state.status).toBe('running')
    expect(state.services.map((s) => [s.name, s.status])).toEqual([['db', 'running'], ['api', 'running'], ['web', 'running']])

    const running = events.filter((e) => e.type === 'service' && e.status === 'running').map((e) => (e as { service: string }).service)
    expect(running).toEqual(['db', 'api', 'web'])

    expect(await httpText(`http://127.0.0.1:${dbPort}/env.txt`)).toContain('ROLE=db')
    // web reaches api by its service name on the stack network, and api got db's resolved address.
    expect(await httpText(`http://127.0.0.1:${webPort}/cgi-bin/get?api:8080/env.txt`)).toContain('DB_URL=http://db:8080/x')

    const [info] = await docker.listContainers({ filters: JSON.stringify({ label: [`thresh.stack=${name}`, 'thresh.service=api'] }) })
    expect(info!.Labels).toMatchObject({ 'thresh.account': 'local', 'thresh.stack': name, 'thresh.service': 'api' })
    expect(info!.Labels['thresh.config-hash']).toMatch(/^[0-9a-f]{16}$/)
  })

  it('starts a list-form stack, its independent services together', async () => {
    const name = uniqueName('tlist')
    const starting: string[] = []
    const order: string[] = []
    const state = await runtime.deploy(
      stack({
        name,
        services: [
          { name: 'a', image: IMAGE },
          { name: 'b', image: IMAGE },
          { name: 'c', image: IMAGE },
          { name: 'd', image: IMAGE, dependsOn: ['a', 'b', 'c'] },
        ],
      }),
      {
        onProgress: (e) => {
          if (e.type !== 'service') return
          if (e.status === 'starting') starting.push(e.service)
          if (e.status === 'running') order.push(e.service)
        },
      },
    )
    expect(state.status).toBe('running')
    // All of level 0 was starting before any of it was confirmed running.
    expect(starting.slice(0, 3).sort()).toEqual(['a', 'b', 'c'])
    expect(order.indexOf('d')).toBe(3)
  })

  it('blocks the dependents of a service that crashes, runs the rest, and succeeds on retry once fixed', async () => {
    const name = uniqueName('tfail')
    const def = (fail: string) => ({
      name,
      services: {
        bad: { image: IMAGE, env: { FAIL: fail } },
        after: { image: IMAGE, depends_on: ['bad'] },
        ok: { image: IMAGE },
      },
    })
    const state = await runtime.deploy(stack(def('1')))
    const by = Object.fromEntries(state.services.map((s) => [s.name, s]))
    expect(state.status).toBe('error')
    expect(by.bad!.status).toBe('error')
    expect(by.bad!.error).toContain('exited with status 3')
    expect(by.after!.status).toBe('blocked')
    expect(by.after!.error).toContain('bad')
    expect(by.ok!.status).toBe('running')
    expect(state.error).toMatch(/^bad: /)

    const retried = await runtime.deploy(stack(def('0')))
    expect(retried.status).toBe('running')
  })

  it('fails a service whose image cannot be pulled, with the registry reason', async () => {
    const name = uniqueName('tpull')
    const state = await runtime.deploy(
      stack({ name, services: { gone: { image: 'docker:thresh-test/does-not-exist:1' }, app: { image: IMAGE, depends_on: ['gone'] } } }),
    )
    const gone = state.services.find((s) => s.name === 'gone')!
    expect(gone.status).toBe('error')
    expect(gone.error).toMatch(/pulling thresh-test\/does-not-exist:1 failed: .+/)
    expect(state.services.find((s) => s.name === 'app')!.status).toBe('blocked')
  })

  it('refuses a host port held by another process before starting anything', async () => {
    const port = await freePort()
    const server: Server = createServer()
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()))
    const name = uniqueName('tport')
    try {
      await expect(
        runtime.deploy(stack({ name, services: { first: { image: IMAGE }, db: { image: IMAGE, ports: [`${port}:8080`] } } })),
      ).rejects.toThrow(`Port ${port} is already in use on the target node`)
      expect(await labelledObjects(docker, name)).toEqual([])
    } finally {
      server.close()
    }
  })

  it('refuses a host port published by another stack', async () => {
    const port = await freePort()
    const owner = uniqueName('towner')
    expect((await runtime.deploy(stack({ name: owner, services: { s: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`] } } }))).status).toBe('running')
    const name = uniqueName('tthief')
    await expect(runtime.deploy(stack({ name, services: { s: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`] } } }))).rejects.toThrow(
      `Port ${port} is already in use on the target node`,
    )
  })
})

describe('managing a running stack', () => {
  it('keeps volume data across stop and start, and removes it on destroy', async () => {
    const port = await freePort()
    const name = uniqueName('tvol')
    const def = stack({ name, services: { store: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`], volumes: ['data:/data'] } } })
    await runtime.deploy(def)
    const url = `http://127.0.0.1:${port}`
    expect(await httpText(`${url}/cgi-bin/write?kept-${name}`)).toBe('ok')

    expect((await runtime.stop(name))!.status).toBe('stopped')
    expect((await runtime.stop(name))!.status).toBe('stopped')
    await expect(fetch(url, { signal: AbortSignal.timeout(1000) })).rejects.toThrow()
    expect((await runtime.start(name))!.status).toBe('running')
    expect((await runtime.start(name))!.status).toBe('running')
    expect(await httpText(`${url}/cgi-bin/read`)).toBe(`kept-${name}`)
    expect(await httpText(`${url}/cgi-bin/boots`)).toBe('2')

    expect(await runtime.destroy(name)).toBe(true)
    expect(await labelledObjects(docker, name)).toEqual([])
    expect(await runtime.destroy(name)).toBe(false)
    expect(await runtime.status(name)).toBeUndefined()

    await runtime.deploy(def)
    expect(await httpText(`${url}/cgi-bin/read`)).toBe('')
    await runtime.destroy(name)
    expect(await labelledObjects(docker, name)).toEqual([])
  })

  it('redeploys idempotently and recreates only the services that changed', async () => {
    const name = uniqueName('tidem')
    const def = (level: string) => ({
      name,
      services: { db: { image: IMAGE, env: { LEVEL: 'same' } }, api: { image: IMAGE, depends_on: ['db'], env: { LEVEL: level } } },
    })
    await runtime.deploy(stack(def('1')))
    const before = await containerIds(name)
    expect(await runtime.plan(stack(def('1')))).toMatchObject({ unchanged: ['db', 'api'], create: [], recreate: [] })
    expect((await runtime.deploy(stack(def('1')))).status).toBe('running')
    expect(await containerIds(name)).toEqual(before)

    expect(await runtime.plan(stack(def('2')))).toMatchObject({ unchanged: ['db'], recreate: ['api'] })
    await runtime.deploy(stack(def('2')))
    const after = await containerIds(name)
    expect(after.db).toBe(before.db)
    expect(after.api).not.toBe(before.api)
  })

  it('rolls one service to a new image without touching the others, and rolls back an image that crashes', async () => {
    const port = await freePort()
    const name = uniqueName('tupd')
    await runtime.deploy(
      stack({ name, services: { db: { image: IMAGE }, api: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`], depends_on: ['db'] } } }),
    )
    const before = await containerIds(name)
    const updated = await runtime.updateService(name, 'api', 'docker:thresh-test/busybox:2')
    expect(updated.services.find((s) => s.name === 'api')).toMatchObject({ image: 'thresh-test/busybox:2', status: 'running' })
    expect(await httpText(`http://127.0.0.1:${port}/version.txt`)).toBe('2')
    const mid = await containerIds(name)
    expect(mid.db).toBe(before.db)

    await expect(runtime.updateService(name, 'api', 'thresh-test/broken:1')).rejects.toThrow(/rolled back to thresh-test\/busybox:2/)
    expect(await httpText(`http://127.0.0.1:${port}/version.txt`)).toBe('2')
    expect(await containerIds(name)).toEqual(mid)

    await expect(runtime.updateService(name, 'api', 'thresh-test/not-there:9')).rejects.toThrow(/keeps running thresh-test\/busybox:2/)
    expect((await runtime.status(name))!.status).toBe('running')
  })

  it('lists stacks from Docker labels alone, as a freshly started thresh would', async () => {
    const name = uniqueName('tlisted')
    await runtime.deploy(stack({ name, services: { one: { image: IMAGE, ports: [`127.0.0.1:${await freePort()}:8080`] } } }))
    const fresh = createDockerRuntime({ docker, proxy: false })
    const listed = (await fresh.list()).find((s) => s.name === name)
    expect(listed).toMatchObject({ name, account: 'local', status: 'running' })
    expect(listed!.services[0]).toMatchObject({ name: 'one', image: IMAGE, status: 'running' })
    expect(listed!.services[0]!.ports[0]).toMatch(/^127\.0\.0\.1:\d+:8080$/)
    expect((await fresh.list({ account: 'someone-else' })).some((s) => s.name === name)).toBe(false)
  })
})

describe('Docker object names (#14)', () => {
  it('gives stacks whose name and volume join to the same text separate volumes, and destroying one keeps the other', async () => {
    const base = uniqueName('rt-vc')
    const [portA, portB] = [await freePort(), await freePort()]
    const a = stack({ name: base, services: { store: { image: IMAGE, ports: [`127.0.0.1:${portA}:8080`], volumes: ['x-data:/data'] } } })
    const b = stack({ name: `${base}-x`, services: { store: { image: IMAGE, ports: [`127.0.0.1:${portB}:8080`], volumes: ['data:/data'] } } })
    expect((await runtime.deploy(a)).status).toBe('running')
    expect((await runtime.deploy(b)).status).toBe('running')

    expect(await httpText(`http://127.0.0.1:${portA}/cgi-bin/write?secret-of-a`)).toBe('ok')
    expect(await httpText(`http://127.0.0.1:${portB}/cgi-bin/read`)).toBe('')
    expect(await httpText(`http://127.0.0.1:${portB}/cgi-bin/write?secret-of-b`)).toBe('ok')

    await runtime.destroy(a.name)
    expect(await labelledObjects(docker, a.name)).toEqual([])
    expect(await httpText(`http://127.0.0.1:${portB}/cgi-bin/read`)).toBe('secret-of-b')
    expect((await runtime.status(b.name))!.status).toBe('running')
  })

  it('runs a stack of the same name for two accounts on one node, each with its own volume', async () => {
    const name = uniqueName('tweb')
    const [portA, portB] = [await freePort(), await freePort()]
    const def = (port: number) => stack({ name, services: { web: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`], volumes: ['data:/data'] } } })
    try {
      expect((await runtime.deploy(def(portA), { account: 'acct-a' })).status).toBe('running')
      expect((await runtime.deploy(def(portB), { account: 'acct-b' })).status).toBe('running')
      expect(await httpText(`http://127.0.0.1:${portA}/cgi-bin/write?only-a`)).toBe('ok')
      expect(await httpText(`http://127.0.0.1:${portB}/cgi-bin/read`)).toBe('')
      await runtime.destroy(name, { account: 'acct-a' })
      expect((await runtime.status(name, { account: 'acct-b' }))!.status).toBe('running')
    } finally {
      for (const account of ['acct-a', 'acct-b']) await runtime.destroy(name, { account }).catch(() => {})
    }
  })

  it('refuses an account whose name could spell another account’s Docker names', async () => {
    const name = uniqueName('tacct')
    await expect(runtime.deploy(stack({ name, services: { web: { image: IMAGE } } }), { account: 'a.b' })).rejects.toThrow(/cannot own stacks/)
  })

  it('keeps the network and volume of a stack deployed under the old names through redeploy, stop, start and destroy', async () => {
    const name = uniqueName('tlegacy')
    const port = await freePort()
    // What thresh before #14 left on a node: `<stack>-net` and `<stack>-<volume>`, labelled with the stack.
    const labels = { 'thresh.managed': 'true', 'thresh.account': 'local', 'thresh.stack': name }
    await docker.createNetwork({ Name: `${name}-net`, Driver: 'bridge', Labels: labels })
    await docker.createVolume({ Name: `${name}-data`, Labels: labels })
    const def = (level: string) => stack({ name, services: { store: { image: IMAGE, ports: [`127.0.0.1:${port}:8080`], volumes: ['data:/data'], env: { LEVEL: level } } } })

    expect((await runtime.deploy(def('1'))).status).toBe('running')
    expect(await httpText(`http://127.0.0.1:${port}/cgi-bin/write?old-data`)).toBe('ok')
    await runtime.deploy(def('2'))
    expect(await httpText(`http://127.0.0.1:${port}/cgi-bin/read`)).toBe('old-data')
    await runtime.stop(name)
    expect((await runtime.start(name))!.status).toBe('running')
    expect(await httpText(`http://127.0.0.1:${port}/cgi-bin/read`)).toBe('old-data')
    expect((await labelledObjects(docker, name)).sort()).toEqual([`container /${name}_store`, `network ${name}-net`, `volume ${name}-data`].sort())

    expect(await runtime.destroy(name)).toBe(true)
    expect(await labelledObjects(docker, name)).toEqual([])
  })

  it('refuses to mount a volume of the stack’s name that another stack owns', async () => {
    const name = uniqueName('tsquat')
    await docker.createVolume({ Name: `${name}_data`, Labels: { 'thresh.managed': 'true', 'thresh.account': 'local', 'thresh.stack': 'someone-else' } })
    try {
      await expect(runtime.deploy(stack({ name, services: { web: { image: IMAGE, volumes: ['data:/data'] } } }))).rejects.toThrow(/does not belong to stack/)
    } finally {
      await docker.getVolume(`${name}_data`).remove().catch(() => {})
    }
  })
})
