// The lifecycle of a role: check plugins, set each up in order, and tear down in reverse,
// trying every teardown and aggregating their errors.
import { createEventBus } from './bus.ts'
import type { ConfigFields, ThreshConfig } from './config.ts'
import { ThreshError } from './errors.ts'
import { createHooks } from './hooks.ts'
import type { Logger } from './logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from './metrics.ts'
import type {
  PluginContext,
  RuntimeInfo,
  ServerCapabilities,
  Teardown,
  ThreshEvents,
  ThreshHooks,
  ThreshPlugin,
  ThreshServices,
} from './plugin.ts'
import { checkPlugins } from './registry.ts'

export interface CreateThreshOptions {
  role: string
  config: ThreshConfig
  plugins: ThreshPlugin[]
  server: ServerCapabilities
  runtime: RuntimeInfo
  logger: Logger
  dataDir: string
}

export interface Thresh {
  readonly bus: PluginContext['bus']
  readonly hooks: PluginContext['hooks']
  readonly metrics: MetricsRegistry
  use<K extends keyof ThreshServices>(name: K): ThreshServices[K]
  /** Runs every plugin's setup in order; on failure tears down what started, then throws. */
  setup(): Promise<void>
  /** Tears everything down in reverse order; safe to call more than once. */
  close(reason?: string): Promise<void>
}

/** A plugin's own fields from the resolved config; defaults fill in where a caller built config by hand. */
function settingsOf(plugin: ThreshPlugin<any>, config: ThreshConfig): Record<string, unknown> {
  const settings: Record<string, unknown> = {}
  for (const [name, field] of Object.entries((plugin.config ?? {}) as ConfigFields)) {
    settings[name] = config[name] ?? (field.default === undefined ? undefined : structuredClone(field.default))
  }
  return settings
}

export function createThresh(options: CreateThreshOptions): Thresh {
  const { plugins, logger } = options
  checkPlugins(plugins)

  const services = new Map<string, unknown>()
  const bus = createEventBus<ThreshEvents>((name, error) =>
    logger.warn(`A listener of '${String(name)}' failed: ${(error as Error)?.message ?? error}`),
  )
  const hooks = createHooks<ThreshHooks>()
  const metrics = createMetricsRegistry()
  const teardowns: { name: string; teardown: Teardown }[] = []
  let closing: Promise<void> | undefined

  const use = <K extends keyof ThreshServices>(name: K): ThreshServices[K] => {
    if (!services.has(name as string)) {
      throw new ThreshError({ code: 'service_missing', message: `No plugin provides service '${String(name)}'.` })
    }
    return services.get(name as string) as ThreshServices[K]
  }

  const contextFor = (plugin: ThreshPlugin<any>): PluginContext<any> => ({
    role: options.role,
    config: options.config,
    settings: settingsOf(plugin, options.config),
    logger: logger.withTag(plugin.name),
    bus,
    hooks,
    server: options.server,
    runtime: options.runtime,
    metrics,
    dataDir: options.dataDir,
    use,
    has: (name) => services.has(name),
    provide(name, service) {
      if (!(plugin.provides ?? []).includes(name as string)) {
        throw new ThreshError({
          code: 'plugin_provides',
          plugin: plugin.name,
          message: `Plugin '${plugin.name}' provided service '${String(name)}' without declaring it in \`provides\`.`,
        })
      }
      services.set(name as string, service)
    },
  })

  const close = (reason = 'shutdown') =>
    (closing ??= (async () => {
      bus.emit('thresh:stopping', { reason })
      const errors: unknown[] = []
      try {
        await hooks.callHook('app:close')
      } catch (error) {
        errors.push(error)
      }
      for (const { name, teardown } of teardowns.reverse()) {
        try {
          await teardown()
        } catch (error) {
          errors.push(new ThreshError({ code: 'teardown_failed', plugin: name, message: `Plugin '${name}' failed to stop: ${(error as Error)?.message ?? error}`, cause: error }))
        }
      }
      if (errors.length === 1) throw errors[0]
      if (errors.length > 1) {
        throw new ThreshError({ code: 'teardown_failed', message: `${errors.length} plugins failed to stop: ${errors.map((e) => (e as Error).message).join('; ')}`, cause: new AggregateError(errors) })
      }
    })())

  return {
    bus,
    hooks,
    metrics,
    use,
    async setup() {
      for (const plugin of plugins) {
        try {
          const teardown = await plugin.setup(contextFor(plugin))
          if (typeof teardown === 'function') teardowns.push({ name: plugin.name, teardown })
          for (const service of plugin.provides ?? []) {
            if (!services.has(service)) {
              throw new Error(`it declares service '${service}' in \`provides\` but did not provide it`)
            }
          }
        } catch (error) {
          const failure = new ThreshError({
            code: 'plugin_setup_failed',
            plugin: plugin.name,
            message: `Plugin '${plugin.name}' failed to start: ${(error as Error)?.message ?? String(error)}`,
            cause: error,
          })
          try {
            await close('setup failed')
          } catch (teardownError) {
            logger.warn((teardownError as Error).message)
          }
          throw failure
        }
      }
      await hooks.callHook('app:ready')
    },
    close,
  }
}
