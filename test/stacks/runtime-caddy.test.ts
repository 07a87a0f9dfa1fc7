// Caddy for `proxy: caddy` stacks: the proxy contract's rule forms translated into Caddy's matchers, and
// real routing on a real Caddy (Debian's binary in thresh-test/caddy:latest): requests with a Host header
// to the proxy's port on 127.0.0.1 reach the right service, and the proxy lives as long as a stack needs it.
import { request } from 'node:http'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalThresh } from '../../cli/local-thresh.ts'
import type { Thresh } from '../../core/index.ts'
import { parseStack, type StackDefinition, type StackRuntime } from '../../lib/stack/index.ts'
import runtimeCaddy, { caddyConfig, matchersOf } from '../../plugins/runtime-caddy/index.ts'
import runtimeDocker from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, uniqueName } from '../support/docker.ts'

const IMAGE = 'thresh-test/busybox:1'
let docker: Docker
let thresh: Thresh
let runtime: StackRuntime
let proxyPort: number
const caddyName = uniqueName('thresh-caddy')
const names: string[] = []

function stack(input: unknown): StackDefinition {
  const result = parseStack(input)
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  names.push(result.stack.name)
  return result.stack
}

/** GET through the proxy with this Host header: [status, body]. */
/**
 * One GET through the proxy, the way a browser sends it: on a kept-alive connection, and sent again
 * once if the proxy closed that idle connection just as the request went out (Caddy closes idle
 * connections when it reloads; RFC 9112 §9.3.1 lets a client retry an idempotent request then, and
 * Node's docs give the same `reusedSocket` + ECONNRESET rule). A reset on a fresh connection, a 5xx or a
 * timeout is still an error.
 */
export function viaProxy(port: number, host: string, path: string, retried = false): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host }, timeout: 3000 }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve([res.statusCode ?? 0, body]))
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!retried && req.reusedSocket && error.code === 'ECONNRESET') resolve(viaProxy(port, host, path, true))
      else reject(error)
    })
    req.end()
  })
}

async function caddy(): Promise<Docker.ContainerInspectInfo | undefined> {
  return docker.getContainer(caddyName).inspect().catch(() => undefined)
}

beforeAll(async () => {
  docker = await connectDocker()
  proxyPort = await freePort()
  const caddyOptions = { docker, image: 'thresh-test/caddy:latest', containerName: caddyName, hostIp: '127.0.0.1', httpPort: proxyPort }
  // The agent's order: the proxy plugins first, so runtime-docker finds `proxy-caddy`; this node's default is Caddy.
  thresh = await startLocalThresh([runtimeCaddy(caddyOptions), runtimeDocker({ docker, defaultProxy: 'caddy' })])
  runtime = thresh.use('runtime')
})

afterAll(async () => {
  for (const name of names) await runtime?.destroy(name).catch(() => {})
  await docker?.getContainer(caddyName).remove({ force: true }).catch(() => {})
  await thresh?.close()
})

describe('rules in Caddy terms', () => {
  it('translates the Traefik-style forms the contract accepts', () => {
    expect(matchersOf('Host(`a.example`)')).toEqual([{ host: ['a.example'] }])
    expect(matchersOf('Host(`a.example`, `b.example`) && PathPrefix(`/api`)')).toEqual([{ host: ['a.example', 'b.example'], path: ['/api*'] }])
    expect(matchersOf('Path(`/x`) || Method(`post`)')).toEqual([{ path: ['/x'] }, { method: ['POST'] }])
    expect(matchersOf('Header(`X-Env`, `prod`)')).toEqual([{ header: { 'X-Env': ['prod'] } }])
    expect(() => matchersOf('!Host(`a`)')).toThrow(/negation/)
    expect(() => matchersOf('ClientIP(`10.0.0.0/8`)')).toThrow(/ClientIP is not supported/)
  })

  it('orders routes most specific first and answers 404 for the rest', () => {
    const config = caddyConfig([
      { rule: 'PathPrefix(`/a`)', upstreams: ['10.0.0.1:80'] },
      { rule: 'Host(`h.test`)', upstreams: ['10.0.0.2:80', '10.0.0.3:80'] },
    ]) as { apps: { http: { servers: { thresh: { routes: Array<{ match?: unknown; handle: Array<{ upstreams?: unknown; status_code?: number }> }> } } } } }
    const routes = config.apps.http.servers.thresh.routes
    expect(routes.map((r) => r.match)).toEqual([[{ host: ['h.test'] }], [{ path: ['/a*'] }], undefined])
    expect(routes[0]!.handle[0]!.upstreams).toEqual([{ dial: '10.0.0.2:80' }, { dial: '10.0.0.3:80' }])
    expect(routes[2]!.handle[0]!.status_code).toBe(404)
  })

  it('refuses a stack whose rule Caddy cannot express before anything starts', async () => {
    const name = uniqueName('tcbad')
    await expect(
      runtime.deploy(stack({ name, proxy: 'caddy', services: { web: { image: IMAGE, ports: [`127.0.0.1:${await freePort()}:8080`], route: 'ClientIP(`10.0.0.0/8`)' } } })),
    ).rejects.toThrow(/cannot be routed: web: Caddy cannot route rule ClientIP/)
    expect(await runtime.status(name)).toBeUndefined()
  })
})

describe('routing on a real Caddy', () => {
  it('routes the default host, a host route and a path route, and goes away with the last routed stack', async () => {
    const name = uniqueName('tcad')
    const state = await runtime.deploy(
      stack({
        name,
        proxy: true, // this node's default: Caddy
        services: {
          web: { image: IMAGE, ports: [`127.0.0.1:${await freePort()}:8080`], env: { NAME: 'web' } },
          api: { image: IMAGE, ports: [`127.0.0.1:${await freePort()}:8080`], env: { NAME: 'api' }, route: 'api.example.test' },
          files: { image: IMAGE, ports: [`127.0.0.1:${await freePort()}:8080`], env: { NAME: 'files' }, route: '/env.txt' },
        },
      }),
    )
    expect(state.status).toBe('running')
    expect((await caddy())?.State.Running).toBe(true)

    const [webStatus, web] = await viaProxy(proxyPort, `web.${name}.localhost`, '/env.txt')
    expect(webStatus).toBe(200)
    expect(web).toContain('NAME=web')
    expect((await viaProxy(proxyPort, 'api.example.test', '/env.txt'))[1]).toContain('NAME=api')
    // No host rule matches: the path rule takes it.
    expect((await viaProxy(proxyPort, 'anything.test', '/env.txt'))[1]).toContain('NAME=files')
    expect((await viaProxy(proxyPort, 'anything.test', '/version.txt'))[0]).toBe(404)

    expect(await runtime.destroy(name)).toBe(true)
    expect(await caddy()).toBeUndefined()
  })
})

describe('updates without downtime', () => {
  /** Requests the route every few milliseconds until stopped: every answer, in order. */
  function requestLoop(host: string) {
    const answers: Array<{ status: number; body: string } | { error: string }> = []
    let running = true
    const done = (async () => {
      while (running) {
        try {
          const [status, body] = await viaProxy(proxyPort, host, '/version.txt')
          answers.push({ status, body: body.trim() })
        } catch (error) {
          answers.push({ error: (error as Error).message })
        }
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
    return {
      answers,
      stop: async () => {
        running = false
        await done
      },
    }
  }

  it('updates a routed service without a host port blue/green: no failed request, and the new version answers after', async () => {
    const name = uniqueName('tcbg')
    const def = (image: string) => stack({ name, proxy: 'caddy', services: { web: { image, expose: ['8080'] }, other: { image: IMAGE } } })
    expect((await runtime.deploy(def(IMAGE))).status).toBe('running')
    const host = `web.${name}.localhost`
    expect(await viaProxy(proxyPort, host, '/version.txt')).toEqual([200, '1\n'])
    const before = (await runtime.status(name))!.services.find((s) => s.name === 'web')!.containerId

    // PATCH-style update of one image.
    const loop = requestLoop(host)
    await new Promise((r) => setTimeout(r, 100))
    const updated = await runtime.updateService(name, 'web', 'thresh-test/busybox:2')
    await new Promise((r) => setTimeout(r, 100))
    await loop.stop()
    expect(updated.services.find((s) => s.name === 'web')).toMatchObject({ image: 'thresh-test/busybox:2', status: 'running' })
    expect(loop.answers.length).toBeGreaterThan(5)
    expect(loop.answers.filter((a) => !('status' in a) || a.status !== 200)).toEqual([])
    expect(loop.answers.at(-1)).toEqual({ status: 200, body: '2' })
    // The old container is gone, the new one has the service's name.
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`thresh.stack=${name}`, 'thresh.service=web'] }) })
    expect(containers.map((c) => c.Names[0])).toEqual([`/${name}_web`])
    expect(containers[0]!.Id).not.toBe(before)

    // A redeploy with a changed definition goes the same way.
    const redeploy = requestLoop(host)
    await new Promise((r) => setTimeout(r, 100))
    expect((await runtime.deploy(def(IMAGE))).status).toBe('running')
    await new Promise((r) => setTimeout(r, 100))
    await redeploy.stop()
    expect(redeploy.answers.filter((a) => !('status' in a) || a.status !== 200)).toEqual([])
    expect(redeploy.answers.at(-1)).toEqual({ status: 200, body: '1' })
  })

  it('keeps the old container serving when the new image never becomes healthy', async () => {
    const name = uniqueName('tcbf')
    await runtime.deploy(stack({ name, proxy: 'caddy', services: { web: { image: IMAGE, expose: ['8080'] } } }))
    const host = `web.${name}.localhost`
    const loop = requestLoop(host)
    await expect(runtime.updateService(name, 'web', 'thresh-test/broken:1')).rejects.toThrow(/rolled back to thresh-test\/busybox:1/)
    await loop.stop()
    expect(loop.answers.filter((a) => !('status' in a) || a.status !== 200)).toEqual([])
    expect(await viaProxy(proxyPort, host, '/version.txt')).toEqual([200, '1\n'])
    expect((await runtime.status(name))!.services.map((s) => [s.name, s.status, s.image])).toEqual([['web', 'running', IMAGE]])
  })
})
