// Traefik for `traefik: true` stacks: Traefik v3 Docker-provider labels, and one proxy per node that
// lives exactly as long as some stack needs it (checked with a stand-in image tagged traefik:v3.3).
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalThresh } from '../../cli/local-thresh.ts'
import type { Thresh } from '../../core/index.ts'
import { parseStack, planStack, type StackDefinition, type StackRuntime } from '../../lib/stack/index.ts'
import runtimeDocker from '../../plugins/runtime-docker/index.ts'
import runtimeTraefik, { routeRule, traefikArgs, traefikLabels, TRAEFIK_CONTAINER } from '../../plugins/runtime-traefik/index.ts'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'

let docker: Docker
let thresh: Thresh
let runtime: StackRuntime
const names = [uniqueName('ttra'), uniqueName('ttrb')]

function stack(input: unknown): StackDefinition {
  const result = parseStack(input)
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return result.stack
}

async function traefik(): Promise<Docker.ContainerInspectInfo | undefined> {
  return docker.getContainer(TRAEFIK_CONTAINER).inspect().catch(() => undefined)
}

beforeAll(async () => {
  docker = await connectDocker()
  // The agent's two stack plugins, in its order: runtime-docker finds runtime-traefik's `proxy` service.
  const traefikOptions = { docker, hostIp: '127.0.0.1', httpPort: await freePort(), httpsPort: await freePort() }
  thresh = await startLocalThresh([runtimeTraefik(traefikOptions), runtimeDocker({ docker })])
  runtime = thresh.use('runtime')
})

afterAll(async () => {
  for (const name of names) await runtime?.destroy(name).catch(() => {})
  await thresh?.close()
})

describe('Traefik routing labels', () => {
  const plan = planStack(
    stack({
      name: 'shop',
      traefik: true,
      services: {
        web: { image: 'nginx', ports: ['8080:80'] },
        api: { image: 'api', ports: ['8081:3000'], route: 'api.example.com' },
        docs: { image: 'docs', ports: ['8082:80'], route: 'PathPrefix(`/docs`)' },
        worker: { image: 'worker' },
      },
    }),
  )
  const service = (name: string) => plan.services.find((s) => s.name === name)!

  it('routes <svc>.<stack>.localhost to the container port by default, in Traefik v3 label syntax', () => {
    expect(traefikLabels(plan, service('web'))).toEqual({
      'traefik.enable': 'true',
      'traefik.docker.network': 'shop_net',
      'traefik.http.routers.shop-web.rule': 'Host(`web.shop.localhost`)',
      'traefik.http.routers.shop-web.entrypoints': 'web,websecure',
      'traefik.http.routers.shop-web.service': 'shop-web',
      'traefik.http.services.shop-web.loadbalancer.server.port': '80',
    })
    for (const key of Object.keys(traefikLabels(plan, service('api')))) {
      expect(key).toMatch(/^traefik\.(enable|docker\.network|http\.(routers\.[a-z0-9-]+\.(rule|entrypoints|service)|services\.[a-z0-9-]+\.loadbalancer\.server\.port))$/)
    }
  })

  it('takes the rule from route: a host name, a path or a rule as written', () => {
    expect(routeRule(plan, service('api'))).toBe('Host(`api.example.com`)')
    expect(routeRule(plan, { name: 'x', route: '/x' })).toBe('PathPrefix(`/x`)')
    expect(routeRule(plan, service('docs'))).toBe('PathPrefix(`/docs`)')
  })

  it('routes only services with ports', () => {
    expect(plan.services.filter((s) => s.traefik).map((s) => s.name)).toEqual(['web', 'api', 'docs'])
    expect(traefikLabels(plan, service('worker'))).toEqual({})
  })

  it('configures Traefik with the Docker provider, opt-in routing and both entry points', () => {
    expect(traefikArgs()).toEqual(
      expect.arrayContaining(['--providers.docker=true', '--providers.docker.exposedbydefault=false', '--entrypoints.web.address=:80', '--entrypoints.websecure.address=:443']),
    )
  })
})

describe('the thresh-traefik container', () => {
  it('is provisioned once for stacks that need it and removed with the last of them', async () => {
    const [a, b] = names as [string, string]
    const def = (name: string) => stack({ name, traefik: true, services: { web: { image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${0}:8080`.replace(':0:', `:${portFor(name)}:`)] } } })
    const ports = new Map<string, number>()
    const portFor = (name: string) => ports.get(name)!
    ports.set(a, await freePort())
    ports.set(b, await freePort())

    expect((await runtime.deploy(def(a))).status).toBe('running')
    const first = await traefik()
    expect(first?.State.Running).toBe(true)
    expect(first?.Config.Image).toBe('traefik:v3.3')
    expect(first?.Config.Cmd).toContain('--providers.docker=true')
    expect(Object.keys(first!.NetworkSettings.Networks)).toContain(`${a}_net`)
    expect(await httpText(`http://127.0.0.1:${portFor(a)}/version.txt`)).toBe('1')

    const [web] = await docker.listContainers({ filters: JSON.stringify({ label: [`thresh.stack=${a}`] }) })
    expect(web!.Labels[`traefik.http.routers.${a}-web.rule`]).toBe(`Host(\`web.${a}.localhost\`)`)

    expect((await runtime.deploy(def(b))).status).toBe('running')
    const second = await traefik()
    expect(second?.Id).toBe(first?.Id)
    expect(Object.keys(second!.NetworkSettings.Networks)).toContain(`${b}_net`)

    await runtime.destroy(a)
    expect((await traefik())?.State.Running).toBe(true)
    await runtime.destroy(b)
    expect(await traefik()).toBeUndefined()
  })
})

describe('with runtime-traefik disabled', () => {
  it('refuses a stack that asks for Traefik, naming runtime-traefik, before creating anything', async () => {
    // `disable: ['runtime-traefik']` leaves runtime-docker alone, with no `proxy` service to find.
    const alone = await startLocalThresh([runtimeDocker({ docker })])
    const name = uniqueName('ttrn')
    const routed = stack({ name, traefik: true, services: { web: { image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${await freePort()}:8080`] } } })
    try {
      await expect(alone.use('runtime').deploy(routed)).rejects.toThrow(`Stack ${name} routes web through Traefik, but no proxy plugin is running: runtime-traefik is disabled`)
    } finally {
      await alone.close()
    }
    // The old fallback provisioned Traefik after the services had started: nothing of the stack exists.
    expect(await labelledObjects(docker, name)).toEqual([])
  })
})
