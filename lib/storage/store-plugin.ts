// What every storage plugin does around its store: give it the hub's metrics retention, provide it as
// `storage`, run maintenance, and close it on shutdown.
import { defineFields, definePlugin, type ConfigFields, type PluginContext, type PluginFactory, type SettingsOf } from '../../core/index.ts'
import { startMaintenance } from './maintenance.ts'
import type { FleetStore, MetricsRetention, StoreOptions } from './types.ts'
import './service.ts'
import '../health.ts'

export interface StorePluginOptions extends StoreOptions {
  /** How often rollups and retention run (default 60 s). */
  maintenanceIntervalMs?: number
}

/** Settings every store has; one declaration shared by all of them. */
export const storeFields = defineFields({
  metricsRetention: { type: 'object', description: 'how long metrics are kept, in ms per resolution: {rawMs, minuteMs, quarterHourMs}', env: false },
})

export function defineStorePlugin<Options extends StorePluginOptions, const Extra extends ConfigFields = {}>(
  name: string,
  open: (options: Options, ctx: PluginContext<SettingsOf<typeof storeFields & Extra>>) => FleetStore | Promise<FleetStore>,
  extraFields?: Extra,
): PluginFactory<Options> {
  return definePlugin((options: Options = {} as Options) => ({
    name,
    provides: ['storage'],
    config: { ...storeFields, ...extraFields } as typeof storeFields & Extra,
    async setup(ctx) {
      const retention = options.retention ?? (ctx.settings.metricsRetention as Partial<MetricsRetention> | undefined)
      const store = await open({ ...options, retention, logger: options.logger ?? ctx.logger }, ctx)
      ctx.provide('storage', store)
      // `/health` says Degraded while the store cannot answer, so a load balancer stops sending work.
      const offHealth = store.ping && ctx.has('health') ? ctx.use('health').check('storage', () => store.ping!()) : undefined
      const stop = startMaintenance(store, options.maintenanceIntervalMs ?? 60_000, ctx.logger)
      return async () => {
        offHealth?.()
        await stop()
        await store.close()
      }
    },
  }))
}
