// What every storage plugin does around its store: merge factory and config options, give the store
// the hub's metrics retention, provide it as `storage`, run maintenance, and close it on shutdown.
import { definePlugin, type PluginContext, type PluginFactory } from '../../core/index.ts'
import { startMaintenance } from './maintenance.ts'
import type { FleetStore, MetricsRetention, StoreOptions } from './types.ts'
import './service.ts'

export interface StorePluginOptions extends StoreOptions {
  /** How often rollups and retention run (default 60 s). */
  maintenanceIntervalMs?: number
}

export function defineStorePlugin<Options extends StorePluginOptions>(
  name: string,
  open: (options: Options, ctx: PluginContext) => FleetStore | Promise<FleetStore>,
): PluginFactory<Options> {
  return definePlugin((factoryOptions?: Options) => ({
    name,
    provides: ['storage'],
    async setup(ctx) {
      const merged = { ...factoryOptions, ...(ctx.options as Options) }
      const retention = merged.retention ?? (ctx.config.metricsRetention as Partial<MetricsRetention> | undefined)
      const store = await open({ ...merged, retention }, ctx)
      ctx.provide('storage', store)
      const stop = startMaintenance(store, merged.maintenanceIntervalMs ?? 60_000, ctx.logger)
      return async () => {
        await stop()
        await store.close()
      }
    },
  }))
}
