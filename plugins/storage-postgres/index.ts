// storage-postgres: the production FleetStore on PostgreSQL (`storage: postgres` with `databaseUrl`
// or THRESH_DATABASE_URL); migrations run at start, metrics are written in batches with unnest.
import { defineFields, ThreshError } from '../../core/index.ts'
import { readSecretFile } from '../../lib/secret-file.ts'
import { createSqlStore, defineStorePlugin, type FleetStore, type StoreOptions, type StorePluginOptions } from '../../lib/storage/index.ts'
import { createPostgresExecutor } from './postgres-executor.ts'
import { createPostgresNotifications } from './postgres-notifications.ts'

export interface PostgresStoreOptions extends StoreOptions {
  databaseUrl?: string
  /** Keep every table in this schema (created if missing); tests use a unique one. */
  schema?: string
  /** Pool size (default 10). */
  max?: number
  /** How often nodes' latest samples are written back (default 2 s). */
  latestFlushMs?: number
  /** Prepared statements (default true); false behind a pooler that cannot keep them. */
  prepare?: boolean
}

const plugin = 'storage-postgres'
const URL_FORM = /^postgres(ql)?:\/\/\S+$/

const fields = defineFields({
  databaseUrl: {
    type: 'url',
    description: 'PostgreSQL URL (postgres://...); selects storage postgres',
    pattern: URL_FORM,
    expected: 'a PostgreSQL URL such as postgres://thresh@db.example:5432/thresh',
    secret: true,
  },
  databaseUrlFile: {
    type: 'string',
    description: 'a file holding the PostgreSQL URL; use it when the URL carries a password, which --database-url shows in ps',
  },
})

/** The URL given directly, or read from databaseUrlFile (checked here, since no field check reads the file). */
function databaseUrlOf(settings: { databaseUrl?: string; databaseUrlFile?: string }): string | undefined {
  if (settings.databaseUrlFile === undefined) return settings.databaseUrl
  if (settings.databaseUrl) {
    throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: 'Give the database URL once: --database-url-file (THRESH_DATABASE_URL_FILE) or --database-url (THRESH_DATABASE_URL), not both.' })
  }
  const url = readSecretFile(settings.databaseUrlFile, '--database-url-file', plugin)
  if (!URL_FORM.test(url)) {
    throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: `--database-url-file ${settings.databaseUrlFile} does not hold a PostgreSQL URL such as postgres://thresh@db.example:5432/thresh.` })
  }
  return url
}

/** A FleetStore on PostgreSQL; migrates before it returns. */
export async function createPostgresStore(options: PostgresStoreOptions = {}): Promise<FleetStore> {
  const url = options.databaseUrl ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.THRESH_DATABASE_URL
  if (!url) throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: 'storage postgres needs a database URL: pass --database-url-file PATH, set THRESH_DATABASE_URL, or set databaseUrl in the config.' })
  const db = await createPostgresExecutor({ url, schema: options.schema, max: options.max, prepare: options.prepare })
  try {
    // One listening connection per store: live views and the hub mesh both listen through it.
    const notifications = await createPostgresNotifications({ url, schema: options.schema, db, logger: options.logger })
    try {
      return await createSqlStore(db, { ...options, kind: 'postgres', plugin, notifications })
    } catch (error) {
      await notifications.close().catch(() => {})
      throw error
    }
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
  (options, ctx) => createPostgresStore({ ...options, databaseUrl: options.databaseUrl ?? databaseUrlOf(ctx.settings) }),
  fields,
)
