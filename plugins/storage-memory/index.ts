// storage-memory: fleet state in process memory, for tests and throwaway hubs (`storage: memory`).
// Plain maps rather than PGlite `memory://`: PGlite costs ~3 s and ~200 MB per instance to start,
// too much for suites that start many hubs; the conformance suite keeps the two implementations equal.
import { defineStorePlugin, type StorePluginOptions } from '../../lib/storage/index.ts'
import { createMemoryStore } from './memory-store.ts'

export { createMemoryStore } from './memory-store.ts'

export default defineStorePlugin<StorePluginOptions>('storage-memory', (options) => createMemoryStore(options))
