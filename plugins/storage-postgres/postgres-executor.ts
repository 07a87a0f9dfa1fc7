// A SqlExecutor on the `postgres` package: a pool, optionally pinned to one schema (tests isolate in
// their own), with the package loaded only when this store is used.
import { isThreshError } from '../../core/index.ts'
import { unavailable } from '../../lib/storage/errors.ts'
import type { SqlExecutor, SqlParam } from '../../lib/storage/index.ts'

export interface PostgresExecutorOptions {
  url: string
  /** Schema for every table; created if missing. */
  schema?: string
  /** Pool size (default 10). */
  max?: number
  /**
   * Prepare each parameterised statement once per connection (default true). Off, every query is two
   * round trips (postgres.js describes an unnamed statement before it binds it) and planned anew; turn
   * it off only behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in
   * transaction mode).
   */
  prepare?: boolean
}

type Sql = import('postgres').Sql

// What node, postgres.js and PostgreSQL say when the database cannot be reached or will not serve:
// refused or dropped connections, timeouts, an administrator shutdown, too many connections, the
// connection classes (08xxx), and a database renamed or dropped, or our login changed, under us.
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  '57P01', '57P02', '57P03', '53300',
  '08000', '08001', '08003', '08004', '08006',
  '3D000', '28000', '28P01',
])

/** The store's own 503 for an unreachable database; every other error passes through unchanged. */
function translate(error: unknown): unknown {
  if (isThreshError(error)) return error
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return unavailable('The hub cannot reach its database right now; try again shortly.', 'storage-postgres', error)
  }
  return error
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw translate(error)
  }
}

/**
 * postgres.js opens its sockets with Nagle's algorithm on. A statement larger than one segment (a
 * metrics batch's arrays, 64 KiB and up on loopback) then leaves its tail waiting for the server's
 * delayed ACK: 40 ms per statement. Its `socket` option takes a socket it treats as connected; a
 * connecting one works too (writes wait in Node's buffer, errors and close reach its handlers).
 */
export function noDelaySockets(connect: typeof import('node:net').connect) {
  let next = 0
  return (o: { host: string[]; port: number[]; path?: string | false }) => {
    if (o.path) return connect({ path: o.path })
    const i = next++ % o.host.length
    const socket = connect({ host: o.host[i]!, port: o.port[i] ?? o.port[0]!, noDelay: true }) as import('node:net').Socket & { host?: string; port?: number }
    socket.host = o.host[i] // postgres.js names it for TLS (SNI) and errors
    socket.port = o.port[i] ?? o.port[0]
    return socket
  }
}

export async function createPostgresExecutor(options: PostgresExecutorOptions): Promise<SqlExecutor> {
  const { default: postgres } = await import('postgres')
  const { connect } = await import('node:net')
  const base = { onnotice: () => {}, idle_timeout: 30, connect_timeout: 10, socket: noDelaySockets(connect) as never }
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
  return wrap(sql, options.prepare ?? true, async () => {
    await sql.end({ timeout: 5 })
  })
}

function wrap(sql: Sql | import('postgres').TransactionSql, prepare: boolean, close: () => Promise<void>): SqlExecutor {
  return {
    query<T>(text: string, params: SqlParam[] = []) {
      // Without parameters postgres.js sends the simple protocol: one round trip, nothing to prepare.
      return guarded(async () => (await sql.unsafe(text, params as never[], { prepare: prepare && params.length > 0 })) as unknown as T[])
    },
    exec(text: string) {
      return guarded(async () => void (await sql.unsafe(text)))
    },
    transaction<R>(fn: (tx: SqlExecutor) => Promise<R>): Promise<R> {
      const begin = 'begin' in sql ? sql.begin.bind(sql) : (sql as import('postgres').TransactionSql).savepoint.bind(sql)
      return guarded(async () => (await begin((tx) => fn(wrap(tx, prepare, close)))) as R)
    },
    close,
  }
}
