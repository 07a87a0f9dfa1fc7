// Core behaviour: plugin ordering, requires/provides, teardown order and error aggregation.
import { describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { createThresh, definePlugin, describeError, ThreshError, type ThreshPlugin } from '../../core/index.ts'
import { createLogger } from '../../lib/logger.ts'

function harness(plugins: ThreshPlugin[]) {
  const app = new Hono()
  return createThresh({
    role: 'test',
    config: { role: 'test', host: '127.0.0.1', port: 0, tls: { enabled: false }, dataDir: '/tmp', logLevel: 'silent', plugins: [], disable: [], pluginOptions: {} },
    plugins,
    server: { app, upgradeWebSocket: (() => {}) as never, url: '', tls: false },
    runtime: { name: 'node', version: process.versions.node },
    logger: createLogger('silent'),
    dataDir: '/tmp',
  })
}

const recorder = (log: string[], name: string, extra: Partial<ThreshPlugin> = {}): ThreshPlugin => ({
  name,
  setup() {
    log.push(`setup ${name}`)
    return () => void log.push(`teardown ${name}`)
  },
  ...extra,
})

describe('plugin lifecycle', () => {
  it('sets plugins up in order and tears them down in reverse', async () => {
    const log: string[] = []
    const thresh = harness([recorder(log, 'a'), recorder(log, 'b'), recorder(log, 'c')])
    await thresh.setup()
    await thresh.close()
    expect(log).toEqual(['setup a', 'setup b', 'setup c', 'teardown c', 'teardown b', 'teardown a'])
  })

  it('runs every teardown even when some fail, and reports all failures', async () => {
    const log: string[] = []
    const failing = (name: string): ThreshPlugin => ({ name, setup: () => () => { throw new Error(`${name} broke`) } })
    const thresh = harness([recorder(log, 'a'), failing('b'), recorder(log, 'c'), failing('d')])
    await thresh.setup()
    const error = await thresh.close().catch((e) => e)
    expect(log).toEqual(['setup a', 'setup c', 'teardown c', 'teardown a'])
    expect(error).toBeInstanceOf(ThreshError)
    expect(error.message).toContain("'d' failed to stop: d broke")
    expect(error.message).toContain("'b' failed to stop: b broke")
  })

  it('tears down what started when a plugin throws in setup, and names that plugin', async () => {
    const log: string[] = []
    const thresh = harness([recorder(log, 'a'), { name: 'bad', setup: () => { throw new Error('no database') } }, recorder(log, 'never')])
    const error = await thresh.setup().catch((e) => e)
    expect(describeError(error)).toBe("[thresh] [bad] Plugin 'bad' failed to start: no database")
    expect(log).toEqual(['setup a', 'teardown a'])
  })

  it('refuses a plugin whose required service no earlier plugin provides', () => {
    expect(() => harness([{ name: 'api', requires: ['storage'], setup() {} }])).toThrow(
      "Plugin 'api' requires service 'storage', which no earlier plugin provides.",
    )
  })

  it('refuses two plugins providing the same service', () => {
    const provider = (name: string): ThreshPlugin => ({ name, provides: ['storage'], setup: (ctx) => ctx.provide('storage' as never, {} as never) })
    expect(() => harness([provider('storage-a'), provider('storage-b')])).toThrow(
      "Plugins 'storage-a' and 'storage-b' both provide service 'storage'",
    )
  })

  it('refuses a plugin without a name', () => {
    expect(() => harness([{ setup() {} } as unknown as ThreshPlugin])).toThrow('every plugin must have a non-empty `name`')
  })

  it('lets plugins share services, events and hooks through ctx', async () => {
    const seen: string[] = []
    const provider = definePlugin(() => ({ name: 'p', provides: ['greeter'], setup: (ctx) => ctx.provide('greeter' as never, { hi: () => 'hi' } as never) }))
    const consumer = definePlugin(() => ({
      name: 'c',
      requires: ['greeter'],
      setup(ctx) {
        seen.push((ctx.use('greeter' as never) as { hi(): string }).hi())
        ctx.bus.on('thresh:stopping', ({ reason }) => seen.push(`stopping: ${reason}`))
        ctx.hooks.hook('app:ready', async () => void seen.push('ready'))
      },
    }))
    const thresh = harness([provider(), consumer()])
    await thresh.setup()
    await thresh.close('test over')
    expect(seen).toEqual(['hi', 'ready', 'stopping: test over'])
  })

  it('fails a plugin that declares a service in provides but never provides it', async () => {
    const thresh = harness([{ name: 'liar', provides: ['storage'], setup() {} }])
    await expect(thresh.setup()).rejects.toThrow("it declares service 'storage' in `provides` but did not provide it")
  })

  it('closes only once even when asked twice', async () => {
    const log: string[] = []
    const thresh = harness([recorder(log, 'a')])
    await thresh.setup()
    await Promise.all([thresh.close(), thresh.close()])
    expect(log).toEqual(['setup a', 'teardown a'])
  })
})
