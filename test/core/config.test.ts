// Config resolution: defaults, file, THRESH_* environment, flags, and errors that name the culprit.
import { describe, expect, it } from 'vitest'
import { commonConfigFields, parseDuration, resolveConfig } from '../../core/index.ts'
import { createEventBus, createMetricsRegistry } from '../../core/index.ts'
import { version } from '../../core/version.ts'
import pkg from '../../package.json' with { type: 'json' }
import denoJson from '../../deno.json' with { type: 'json' }

const fields = {
  ...commonConfigFields,
  batchInterval: { type: 'duration' as const, description: 'flush interval', default: 5000 },
  hubUrl: { type: 'url' as const, description: 'hub' },
}

describe('config', () => {
  it('fills in defaults', () => {
    const config = resolveConfig({ fields, defaults: { port: 7200 } })
    expect(config).toMatchObject({ host: '0.0.0.0', port: 7200, tls: { enabled: true }, logLevel: 'info', batchInterval: 5000 })
  })

  it('lets the file override defaults, the environment override the file, and flags override both', () => {
    const config = resolveConfig({
      fields,
      defaults: { port: 7200 },
      file: { path: 'thresh.json', data: { port: 8000, host: '127.0.0.1', 'batch-interval': '10s' } },
      env: { THRESH_PORT: '9000', THRESH_HUB_URL: 'https://hub.example:7200/' },
      flags: { port: 9100 },
    })
    expect(config).toMatchObject({ port: 9100, host: '127.0.0.1', batchInterval: 10_000, hubUrl: 'https://hub.example:7200' })
  })

  it('accepts tls as false, true, or cert and key files', () => {
    expect(resolveConfig({ fields, env: { THRESH_TLS: 'false' } }).tls).toEqual({ enabled: false })
    expect(resolveConfig({ fields, file: { path: 'c.json', data: { tls: { cert: 'a.pem', key: 'b.pem' } } } }).tls).toEqual({ enabled: true, cert: 'a.pem', key: 'b.pem' })
  })

  it('reports every problem at once, naming the file, the field and what was expected', () => {
    const run = () => resolveConfig({ fields, file: { path: 'bad.json', data: { port: 'eighty', colour: 'blue', tls: { cert: 'x' } } } })
    expect(run).toThrow(/bad\.json: field 'port' must be a number \(got "eighty"\)/)
    expect(run).toThrow(/bad\.json: unknown field 'colour'/)
    expect(run).toThrow(/bad\.json: field 'tls' must give both cert and key file paths/)
  })

  it('names the environment variable source when an override is invalid', () => {
    expect(() => resolveConfig({ fields, env: { THRESH_PORT: '70000' } })).toThrow("environment: field 'port' must be between 0 and 65535")
  })

  it('refuses a value outside a field\'s allowed list', () => {
    expect(() => resolveConfig({ fields, file: { path: 'c.json', data: { logLevel: 'loud' } } })).toThrow("field 'logLevel' must be one of silent, error, warn, info, debug, trace")
  })

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('5s')).toBe(5000)
    expect(parseDuration(30)).toBe(30_000)
    expect(parseDuration('24h')).toBe(86_400_000)
    expect(parseDuration('soon')).toBeUndefined()
  })
})

describe('event bus and metrics', () => {
  it('keeps delivering to other listeners when one throws', () => {
    const errors: unknown[] = []
    const bus = createEventBus<{ tick: number }>((_, e) => errors.push(e))
    const got: number[] = []
    bus.on('tick', () => { throw new Error('boom') })
    bus.on('tick', (n) => got.push(n))
    bus.once('tick', (n) => got.push(n * 10))
    bus.emit('tick', 1)
    bus.emit('tick', 2)
    expect(got).toEqual([1, 10, 2])
    expect(errors).toHaveLength(2)
  })

  it('renders Prometheus text', () => {
    const metrics = createMetricsRegistry()
    metrics.gauge('things_online', 'Things online.', () => 3)
    metrics.counter('things_total', 'Things seen.').inc(2)
    expect(metrics.render()).toBe('# HELP things_online Things online.\n# TYPE things_online gauge\nthings_online 3\n# HELP things_total Things seen.\n# TYPE things_total counter\nthings_total 2\n')
  })
})

describe('package metadata', () => {
  it('keeps the CLI version, package.json and deno.json in step', () => {
    expect(version).toBe(pkg.version)
    expect(denoJson.version).toBe(pkg.version)
    for (const dep of Object.keys(denoJson.imports).filter((k) => !k.endsWith('/'))) {
      expect(pkg.dependencies, `deno.json imports ${dep}, which package.json must depend on`).toHaveProperty(dep)
    }
  })
})
