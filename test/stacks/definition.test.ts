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
    expect(plan.objects.network.name).toBe('webapp_net')
    expect(plan.objects.volumes.map((v) => v.name)).toEqual(['webapp_pgdata'])
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
        api: { ports: ['80', '70000:80', '8080:80'], volumes: ['./host:/data', 'data'], depends_on: 'db' },
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

describe('hostile definitions', () => {
  const one = (service: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name: 's', services: { api: { image: 'nginx', ...service } }, ...extra })

  it('refuses U+0000 in any string, naming where it is', () => {
    expect(messageAt(one({ env: { A: 'x\u0000y' } }), 'services.api.env.A')).toBe('The text must not contain control characters (U+0000 at position 2)')
    expect(messageAt(one({ command: ['sh', '\u0000'] }), 'services.api.command[1]')).toMatch(/U\+0000/)
    expect(messageAt(one({ route: 'Host(`a`)\u0000' }), 'services.api.route')).toMatch(/U\+0000/)
    expect(messageAt(one({}, { targetNode: 'n\u0000' }), 'targetNode')).toMatch(/U\+0000/)
    expect(messageAt(one({ volumes: ['data:/var/\u0000'] }), 'services.api.volumes[0]')).toMatch(/U\+0000/)
  })

  it('keeps tabs and line breaks in env values and commands but not in one-line settings', () => {
    const result = parseStack(one({ env: { PEM: '-----BEGIN-----\nabc\n-----END-----' }, command: 'echo a\techo b' }))
    if (!result.ok) throw new Error(JSON.stringify(result.errors))
    expect(result.stack.services[0]!.env.PEM).toContain('\n')
    expect(messageAt(one({ route: 'Host(`a`)\nPath(`/`)' }), 'services.api.route')).toBe('route must not contain control characters (U+000A at position 10)')
  })

  it('refuses __proto__, constructor and prototype as keys and never writes to a prototype', () => {
    const errors = problems(JSON.parse('{"name":"s","services":{"__proto__":{"image":"nginx"},"api":{"image":"nginx","env":{"__proto__":{"polluted":true},"constructor":"x"}}},"prototype":1}'))
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: 'services.__proto__', message: '"__proto__" is not allowed as a key' },
        { path: 'services.api.env.__proto__', message: '"__proto__" is not allowed as a key' },
        { path: 'services.api.env.constructor', message: '"constructor" is not allowed as a key' },
        { path: 'prototype', message: '"prototype" is not allowed as a key' },
      ]),
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(problems(one({ env: ['constructor=x'] })).map((e) => e.path)).toEqual(['services.api.env[0]'])
  })

  it('refuses a bind address that is not an IPv4 or bracketed IPv6 address', () => {
    expect(messageAt(one({ ports: ['999.1.1.1:8080:80'] }), 'services.api.ports[0]')).toMatch(/^"999\.1\.1\.1" is not an IPv4 address/)
    expect(messageAt(one({ ports: ['1.2.3:8080:80'] }), 'services.api.ports[0]')).toMatch(/is not an IPv4 address/)
    expect(messageAt(one({ ports: ['[::g]:8080:80'] }), 'services.api.ports[0]')).toBe('"::g" is not an IPv6 address')
    expect(messageAt(one({ ports: ['8080:0'] }), 'services.api.ports[0]')).toMatch(/from 1 to 65535/)
    expect(messageAt(one({ ports: ['65536:80'] }), 'services.api.ports[0]')).toMatch(/from 1 to 65535/)
    const ok = parseStack(one({ ports: ['255.255.255.255:80:80', '[::1]:81:81', '[2001:db8::ffff:192.0.2.1]:82:82/udp'] }))
    if (!ok.ok) throw new Error(JSON.stringify(ok.errors))
    expect(ok.stack.services[0]!.ports.map(formatPort)).toEqual(['255.255.255.255:80:80', '[::1]:81:81', '[2001:db8::ffff:192.0.2.1]:82:82/udp'])
  })

  it('reports an 8,000-service dependency ring as a validation problem with a short message', () => {
    const services: Record<string, unknown> = {}
    for (let i = 0; i < 8000; i++) services[`s${i}`] = { image: 'nginx', depends_on: [`s${(i + 1) % 8000}`] }
    const errors = problems({ name: 's', services })
    expect(errors.find((e) => e.path === 'services')!.message).toBe('A stack has at most 200 services; this one has 8000')
    const cycle = errors.find((e) => e.message.startsWith('Circular dependency detected: '))!
    expect(cycle.path).toBe('services.s0.depends_on')
    expect(cycle.message).toBe('Circular dependency detected: s0 → s1 → s2 → s3 → s4 → … 7991 more … → s7996 → s7997 → s7998 → s7999 → s0')
  })

  it('refuses nesting deeper than 32 levels without overflowing the stack', () => {
    let deep: unknown = 'x'
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(problems({ name: 's', services: { api: { image: 'nginx', name: deep } } })).toEqual([
      { path: 'services.api.name[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]', message: 'Nesting is deeper than 32 levels' },
    ])
  })

  it('bounds what one service may list, and how many problems come back', () => {
    const ports = Array.from({ length: 101 }, (_, i) => `${i + 1000}:80`)
    expect(messageAt(one({ ports }), 'services.api.ports')).toBe('A service has at most 100 ports; this one has 101')
    const services = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`s${i}`, { image: '' }]))
    const errors = problems({ name: 's', services })
    expect(errors).toHaveLength(51)
    expect(errors.at(-1)).toEqual({ path: '', message: '… and 100 more problems' })
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

  it('answers hostile JSON (prototype keys, control characters, huge numbers, deep nesting) with problems, never a throw', () => {
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'services', 'image', 'ports', 'env', 'depends_on', 'api'), fc.string())
    const hostile = fc.tuple(fc.string(), fc.constantFrom('\u0000', '\u0001', '\u001b', '\u007f', '\n', '\t'), fc.string()).map(([a, c, b]) => a + c + b)
    const leaf = fc.oneof(fc.string(), hostile, fc.double(), fc.constantFrom(8640000000000000, 1e308, -1e308, 2 ** 53), fc.boolean(), fc.constant(null))
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(key, tie('any'), { maxKeys: 4 })),
    })).any
    const stackLike = fc.record({
      name: fc.oneof(fc.constant('s'), leaf),
      services: fc.dictionary(key, fc.dictionary(key, value, { maxKeys: 5 }), { maxKeys: 4 }),
    })
    // Deep nesting is built as text from a depth, so nothing but the parser ever recurses into it.
    const depth = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 20_000 }))
    fc.assert(
      fc.property(fc.oneof(value, stackLike), depth, fc.boolean(), (base, levels, inService) => {
        const nested = `${'['.repeat(levels)}${JSON.stringify(base) ?? 'null'}${']'.repeat(levels)}`
        const text = inService ? `{"name":"s","services":{"api":{"image":"nginx","name":${nested}}}}` : nested
        for (const input of [text, JSON.parse(text)]) {
          const result = parseStack(input)
          if (!result.ok) for (const e of result.errors) expect(typeof e.message).toBe('string')
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
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
