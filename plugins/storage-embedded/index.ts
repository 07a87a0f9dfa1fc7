// storage-embedded: the hub's default store, durable with no server to run. PGlite keeps a real
// PostgreSQL database in `<dataDir>/db`, so it shares storage-postgres's schema and SQL store.
import { ThreshError } from '../../core/index.ts'
import { createSqlStore, defineStorePlugin, type FleetStore, type StoreOptions, type StorePluginOptions } from '../../lib/storage/index.ts'
import { restrictToOwner } from '../../lib/data-dir.ts'
import { lockDataDir } from './data-dir-lock.ts'
import { createPgliteExecutor } from './pglite-executor.ts'

export interface EmbeddedStoreOptions extends StoreOptions {
  /** Directory of the database (created if missing); `memory://` keeps it in the process. */
  path: string
}

const plugin = 'storage-embedded'

/** A FleetStore in an embedded PostgreSQL (PGlite) at `path`; migrates before it returns. */
export async function createEmbeddedStore(options: EmbeddedStoreOptions): Promise<FleetStore> {
  let release = async () => {}
  if (!options.path.startsWith('memory://')) {
    const { mkdir } = await import('node:fs/promises')
    await mkdir(options.path, { recursive: true })
    release = await lockDataDir(options.path, plugin)
  }
  let db
  try {
    db = await createPgliteExecutor(options.path)
    // A database unpacked from the template keeps the archive's 0666 modes: owner-only, like THRESH_HOME.
    if (!options.path.startsWith('memory://')) restrictToOwner(options.path)
    const store = await createSqlStore(db, { ...options, kind: 'embedded', plugin })
    const close = store.close.bind(store)
    store.close = async () => {
      try {
        await close()
      } finally {
        await release()
      }
    }
    return store
  } catch (error) {
    await db?.close().catch(() => {})
    await release()
    throw new ThreshError({
      code: 'storage_unavailable',
      status: 503,
      plugin,
      message: `Could not open the embedded database at ${options.path}: ${(error as Error).message}`,
      cause: error,
    })
  }
}

export default defineStorePlugin<Partial<EmbeddedStoreOptions> & StorePluginOptions>(plugin, async (options, ctx) => {
  const { join } = await import('node:path')
  const path = options.path ?? join(ctx.dataDir, 'db')
  ctx.logger.debug(`Opening the embedded database at ${path}`)
  return createEmbeddedStore({ ...options, path })
})
