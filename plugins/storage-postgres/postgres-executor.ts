// A SqlExecutor on the `postgres` package: a pool, optionally pinned to one schema (tests isolate in
// their own), with the package loaded only when this store is used.
import type { SqlExecutor, SqlParam } from '../../lib/storage/index.ts'

export interface PostgresExecutorOptions {
  url: string
  /** Schema for every table; created if missing. */
  schema?: string
  /** Pool size (default 10). */
  max?: number
}

type Sql = import('postgres').Sql

export async function createPostgresExecutor(options: PostgresExecutorOptions): Promise<SqlExecutor> {
  const { default: postgres } = await import('postgres')
  const base = { onnotice: () => {}, idle_timeout: 30, connect_timeout: 10 }
  if (options.schema) {
    const admin = postgres(options.url, { ...base, max: 1 })
    try {
      await admin.unsafe(`create schema if not exists "${options.schema.replace(/"/g, '""')}"`)
    } catch (error) {
      // Two processes creating the schema at once: the loser sees a duplicate, which is fine.
      if (!['23505', '42P06'].includes((error as { code?: string }).code ?? '')) throw error
    } finally {
      await admin.end()
    }
  }
  const sql = postgres(options.url, {
    ...base,
    max: options.max ?? 10,
    connection: options.schema ? { search_path: options.schema } : {},
  })
  return wrap(sql, async () => {
    await sql.end({ timeout: 5 })
  })
}

function wrap(sql: Sql | import('postgres').TransactionSql, close: () => Promise<void>): SqlExecutor {
  return {
    async query<T>(text: string, params: SqlParam[] = []) {
      return (await sql.unsafe(text, params as never[])) as unknown as T[]
    },
    async exec(text: string) {
      await sql.unsafe(text)
    },
    async transaction<R>(fn: (tx: SqlExecutor) => Promise<R>): Promise<R> {
      const begin = 'begin' in sql ? sql.begin.bind(sql) : (sql as import('postgres').TransactionSql).savepoint.bind(sql)
      return (await begin((tx) => fn(wrap(tx, close)))) as R
    },
    close,
  }
}
