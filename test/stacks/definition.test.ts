// The stack definition: both seed forms parse, every problem is reported with its path, plans respect the DAG.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatPort, formatVolume, parsePort, parseStack, parseVolume, planStack, resolveStack, type StackProblem } from '../../lib/stack/index.ts'

const fixtures = join(import.meta.dirname, '../fixtures/stacks')
const seeds = readdirSync(fixtures).filter((f) => f.startsWith('seed-'))

function problems(input: unknown): StackProblem[] {
  const result = parseStack(input)
  if (result.ok) throw new Error('expected the stack to be rejected')
  return result.errors
}

function messageAt(input: unknown, path: string): string | undefined {
  return problems(input).find((p) => p.path === path)?.message
}

describe('seed examples', () => {
  it('covers every example stack in the seeds', () => {
    expect(seeds.length).toBe(8)
  })
  for (const file of seeds) {
    it(`${file} parses, validates and plans`, () => {
      const result = parseStack(readFileSync(join(fixtures, file), 'utf8'))
      if (!result.ok) throw new Error(JSON.stringify(result.errors))
      const plan = planStack(result.stack)
      expect(plan.levels.flat().sort()).toEqual(result.stack.services.map((s) => s.name).sort())
      for (const service of plan.services) {
        for (const value of Object.values(service.env)) expect(value).not.toMatch(/\$\{[^}]+\.(host|port)\}/)
      }
    })
  }

  it('orders the tutorial webapp as postgres+redis, then api, then web, with resolved URLs', () => {
    const result = parseStack(readFileSync(join(fixtures, 'seed-map-webapp.json'), 'utf8'))
    if (!result.ok) throw new Error('invalid')
    const plan = planStack(result.stack)
    expect(plan.levels).toEqual([['postgres', 'redis'], ['api'], ['web']])
    const api = plan.services.find((s) => s.name === 'api')!
    expect(api.env.DATABASE_URL).toBe('postgres://webapp:devpass123@postgres:5432/webapp_dev')
    expect(api.env.REDIS_URL).toBe('redis://redis:6379')
    expect(api.image).toBe('node:20-alpine')
    expect(plan.traefik).toBe(true)
    expect(plan.objects.network.name).toBe('webapp-net')
    expect(plan.objects.volumes.map((v) => v.name)).toEqual(['webapp-pgdata'])
    expect(api.labels).toMatchObject({ 'thresh.account': 'local', 'thresh.stack': 'webapp', 'thresh.service': 'api' })
  })

  it('treats the map form and the list form of one stack alike', () => {
    const map = parseStack({
      name: 'same',
      services: { db: { image: 'docker:pg:1', ports: ['5432:5432'] }, app: { image: 'app:1', dependsOn: ['db'] } },
    })
    const list = parseStack({
      name: 'same',
      services: [{ name: 'db', image: 'pg:1', ports: ['5432:5432'] }, { name: 'app', image: 'app:1', depends_on: ['db'] }],
    })
    if (!map.ok || !list.ok) throw new Error('invalid')
    expect(planStack(map.stack)).toEqual(planStack(list.stack))
  })

  it('routes only the services that ask for Traefik in the list form', () => {
    const result = parseStack(readFileSync(join(fixtures, 'seed-list-three-tier.json'), 'utf8'))
    if (!result.ok) throw new Error('invalid')
    expect(result.stack.traefik).toBe(true)
    expect(result.stack.services.filter((s) => s.traefik).map((s) => s.name)).toEqual(['web'])
  })
})

describe('validation', () => {
  it('reports a JSON syntax error with its line and column', () => {
    const [error] = problems('{\n  "name": "x",\n  "services": {\n    "a": { "image": "a" }\n  ,}\n}')
    expect(error!.message).toMatch(/^Invalid JSON at line 5, column 4/)
  })

  it('reports every problem at once, each with its path', () => {
    const errors = problems({
      name: 'Bad_Name',
      services: {
        api: { ports: ['80', '70000:80', '8080:80'], volumes: ['/host:/data', 'data'], depends_on: 'db' },
        web: { image: 'nginx', ports: ['8080:81'], depends_on: ['ghost'], env: { X: '${nope.host}' } },
      },
    })
    const paths = errors.map((e) => e.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'name',
        'services.api.image',
        'services.api.ports[0]',
        'services.api.ports[1]',
        'services.api.volumes[0]',
        'services.api.volumes[1]',
        'services.api.depends_on',
        'services.web.ports[0]',
        'services.web.depends_on[0]',
        'services.web.env.X',
      ]),
    )
    expect(errors.find((e) => e.path === 'services.web.ports[0]')!.message).toBe(
      'Host port 8080 is already published by services.api.ports[2]',
    )
  })

  it('names duplicate services in the list form', () => {
    expect(messageAt({ name: 's', services: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }] }, 'services[1].name')).toBe(
      'Duplicate service "a" (also at services[0])',
    )
  })

  it('rejects ${svc.port} for a service without ports', () => {
    const message = messageAt(
      { name: 's', services: { w: { image: 'w' }, a: { image: 'a', env: { U: 'http://${w.host}:${w.port}' } } } },
      'services.a.env.U',
    )
    expect(message).toContain('publishes no ports')
  })

  it('reports a cycle as the path around it', () => {
    const errors = problems({
      name: 's',
      services: { a: { image: 'a', depends_on: ['b'] }, b: { image: 'b', depends_on: ['c'] }, c: { image: 'c', depends_on: ['a'] } },
    })
    expect(errors.map((e) => e.message)).toContain('Circular dependency detected: a → b → c → a')
  })

  it('reports a service that depends on itself', () => {
    expect(problems({ name: 's', services: { api: { image: 'a', dependsOn: ['api'] } } }).map((e) => e.message)).toContain(
      'Circular dependency detected: api → api',
    )
  })

  it('refuses targetNode together with targetCluster', () => {
    expect(messageAt({ name: 's', targetNode: 'n', targetCluster: 'c', services: { a: { image: 'a' } } }, 'targetCluster')).toBeDefined()
  })

  it('resolves ${svc.host} and ${svc.port} before dispatch', () => {
    const result = parseStack({
      name: 's',
      services: { db: { image: 'pg', ports: ['5433:5432'] }, a: { image: 'a', env: { U: '${db.host}:${db.port}', HOME: '${HOME}' } } },
    })
    if (!result.ok) throw new Error('invalid')
    expect(resolveStack(result.stack).services[1]!.env).toEqual({ U: 'db:5432', HOME: '${HOME}' })
  })

  it('reads healthcheck durations as Compose writes them, and names one it cannot read', () => {
    const healthcheck = (timing: Record<string, unknown>) => ({ name: 's', services: { a: { image: 'a', healthcheck: { test: 'true', ...timing } } } })
    const result = parseStack(healthcheck({ interval: '1m30s', timeout: 10, start_period: '1.5s' }))
    if (!result.ok) throw new Error(JSON.stringify(result.errors))
    expect(result.stack.services[0]!.healthcheck).toMatchObject({ intervalMs: 90_000, timeoutMs: 10_000, startPeriodMs: 1500 })
    expect(messageAt(healthcheck({ interval: '1m30' }), 'services.a.healthcheck.interval')).toBe('"1m30" is not a duration like "2s" or "500ms"')
  })
})

// Random graphs over a small name pool: enough to hit cycles, self-loops and unknown targets often.
const names = ['a', 'b', 'c', 'd', 'e', 'f']
const graphArb = fc
  .uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 6 })
  .chain((svcs) =>
    fc.record({
      svcs: fc.constant(svcs),
      deps: fc.tuple(...svcs.map(() => fc.uniqueArray(fc.constantFrom(...svcs), { maxLength: 3 }))),
    }),
  )

function hasCycle(svcs: string[], deps: string[][]): boolean {
  const edges = new Map(svcs.map((s, i) => [s, deps[i]!]))
  const reach = (from: string, target: string, seen: Set<string>): boolean =>
    (edges.get(from) ?? []).some((n) => n === target || (!seen.has(n) && (seen.add(n), reach(n, target, seen))))
  return svcs.some((s) => reach(s, s, new Set()))
}

describe('properties', () => {
  it('never crashes on random input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.json(), fc.string(), fc.object({ maxDepth: 4 })), (input) => {
        const result = parseStack(input)
        if (!result.ok) for (const e of result.errors) expect(typeof e.message).toBe('string')
      }),
      { numRuns: 400 },
    )
  })

  it('never crashes on random stack-shaped definitions', () => {
    const svc = fc.record(
      {
        image: fc.oneof(fc.string(), fc.constant('docker:x:1'), fc.integer()),
        ports: fc.oneof(fc.array(fc.oneof(fc.string(), fc.constant('80:80'), fc.integer())), fc.string()),
        volumes: fc.array(fc.oneof(fc.string(), fc.constant('v:/d'))),
        env: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant('${a.port}'), fc.integer(), fc.object())),
        depends_on: fc.oneof(fc.array(fc.constantFrom(...names, 'zz')), fc.string()),
        traefik: fc.oneof(fc.boolean(), fc.string()),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(fc.string(), fc.oneof(fc.dictionary(fc.constantFrom(...names), svc), fc.array(svc)), (name, services) => {
        const result = parseStack({ name, services })
        if (result.ok) planStack(result.stack)
      }),
      { numRuns: 300 },
    )
  })

  it('accepts every acyclic graph with a plan that starts dependencies first, and reports every cyclic one', () => {
    fc.assert(
      fc.property(graphArb, ({ svcs, deps }) => {
        const services = Object.fromEntries(svcs.map((s, i) => [s, { image: `img-${s}:1`, depends_on: deps[i] }]))
        const result = parseStack({ name: 'prop', services })
        if (hasCycle(svcs, deps)) {
          expect(result.ok).toBe(false)
          if (!result.ok) expect(result.errors.every((e) => e.message.startsWith('Circular dependency detected: '))).toBe(true)
          return
        }
        if (!result.ok) throw new Error(JSON.stringify(result.errors))
        const plan = planStack(result.stack)
        expect(plan.levels.flat().sort()).toEqual([...svcs].sort())
        for (const service of plan.services) {
          for (const dep of service.dependsOn) {
            expect(plan.services.find((s) => s.name === dep)!.level).toBeLessThan(service.level)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('reports every cycle closed on its first service', () => {
    fc.assert(
      fc.property(graphArb, ({ svcs, deps }) => {
        const services = Object.fromEntries(svcs.map((s, i) => [s, { image: 'x', depends_on: deps[i] }]))
        const result = parseStack({ name: 'prop', services })
        if (result.ok) return
        for (const e of result.errors) {
          const ring = e.message.replace('Circular dependency detected: ', '').split(' → ')
          expect(ring[0]).toBe(ring[ring.length - 1])
          for (let i = 0; i < ring.length - 1; i++) expect(deps[svcs.indexOf(ring[i]!)]).toContain(ring[i + 1])
        }
      }),
      { numRuns: 300 },
    )
  })

  it('reads back every port and volume it writes, in the short form people type', () => {
    const port = fc.record({
      host: fc.integer({ min: 1, max: 65535 }),
      container: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      hostIp: fc.constantFrom('', '127.0.0.1', '10.0.0.2'),
    })
    const volume = fc.record({ name: fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/), path: fc.stringMatching(/^\/[a-z0-9/_-]{0,20}$/), readOnly: fc.boolean() })
    fc.assert(fc.property(port, (p) => {
      expect(parsePort(formatPort(p))).toEqual(p)
    }), { numRuns: 200 })
    fc.assert(fc.property(volume, (v) => {
      expect(parseVolume(formatVolume(v))).toEqual(v)
    }), { numRuns: 200 })
    expect(formatPort({ host: 8080, container: 80, protocol: 'tcp', hostIp: '' })).toBe('8080:80')
    expect(formatPort({ host: 53, container: 53, protocol: 'udp', hostIp: '127.0.0.1' })).toBe('127.0.0.1:53:53/udp')
  })
})
