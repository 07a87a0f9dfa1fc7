// storage-postgres: the production FleetStore on PostgreSQL (`storage: postgres` with `databaseUrl`
// or THRESH_DATABASE_URL); migrations run at start, metrics are written in batches with unnest.
import { defineFields, ThreshError } from '../../core/index.ts'
import { createSqlStore, defineStorePlugin, type FleetStore, type StoreOptions, type StorePluginOptions } from '../../lib/storage/index.ts'
import { createPostgresExecutor } from './postgres-executor.ts'

export interface PostgresStoreOptions extends StoreOptions {
  databaseUrl?: string
  /** Keep every table in this schema (created if missing); tests use a unique one. */
  schema?: string
  /** Pool size (default 10). */
  max?: number
}

const plugin = 'storage-postgres'

const fields = defineFields({
  databaseUrl: {
    type: 'url',
    description: 'PostgreSQL URL (postgres://...); selects storage postgres',
    pattern: /^postgres(ql)?:\/\/\S+$/,
    expected: 'a PostgreSQL URL such as postgres://thresh@db.example:5432/thresh',
    secret: true,
  },
})

/** A FleetStore on PostgreSQL; migrates before it returns. */
export async function createPostgresStore(options: PostgresStoreOptions = {}): Promise<FleetStore> {
  const url = options.databaseUrl ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.THRESH_DATABASE_URL
  if (!url) throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: 'storage postgres needs a databaseUrl (or THRESH_DATABASE_URL).' })
  const db = await createPostgresExecutor({ url, schema: options.schema, max: options.max })
  try {
    return await createSqlStore(db, { ...options, kind: 'postgres', plugin })
  } catch (error) {
    await db.close().catch(() => {})
    throw new ThreshError({
      code: 'storage_unavailable',
      status: 503,
      plugin,
      message: `Could not open PostgreSQL at ${redact(url)}: ${(error as Error).message}`,
      cause: error,
    })
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

export default defineStorePlugin<PostgresStoreOptions & StorePluginOptions, typeof fields>(
  plugin,
  (options, ctx) => createPostgresStore({ ...options, databaseUrl: options.databaseUrl ?? ctx.settings.databaseUrl }),
  fields,
)
