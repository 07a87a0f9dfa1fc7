// storage-memory: fleet state in process memory, for tests and throwaway hubs (`storage: memory`).
// Plain maps rather than PGlite `memory://`: PGlite costs ~3 s and ~200 MB per instance to start,
// too much for suites that start many hubs; the conformance suite keeps the two implementations equal.
import { definePlugin } from '../../core/index.ts'
import { startMaintenance, type MetricsRetention, type StoreOptions } from '../../lib/storage/index.ts'
import { createMemoryStore } from './memory-store.ts'

export { createMemoryStore } from './memory-store.ts'

export default definePlugin((factoryOptions: StoreOptions & { maintenanceIntervalMs?: number } = {}) => ({
  name: 'storage-memory',
  provides: ['storage'],
  async setup(ctx) {
    const options = { ...factoryOptions, ...(ctx.options as typeof factoryOptions) }
    const store = createMemoryStore({
      ...options,
      retention: options.retention ?? (ctx.config.metricsRetention as Partial<MetricsRetention> | undefined),
    })
    ctx.provide('storage', store)
    const stop = startMaintenance(store, options.maintenanceIntervalMs ?? 60_000, ctx.logger)
    return async () => {
      await stop()
      await store.close()
    }
  },
}))
