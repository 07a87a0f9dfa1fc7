// A SqlExecutor on PGlite (PostgreSQL compiled to WASM, in process): one connection, so PGlite itself
// queues callers and runs a transaction alone. Loaded only when the embedded store is used.
import type { SqlExecutor, SqlParam } from '../../lib/storage/index.ts'
import { openPglite } from './pglite-template.ts'

type PGlite = import('@electric-sql/pglite').PGlite
type Transaction = import('@electric-sql/pglite').Transaction

/** `dataDir` is a directory for a durable database, or `memory://` for one that lives in the process. */
export async function createPgliteExecutor(dataDir: string): Promise<SqlExecutor> {
  const { PGlite } = await import('@electric-sql/pglite')
  const db = await openPglite(PGlite, dataDir)
  return wrap(db, async () => {
    if (!db.closed) await db.close()
  })
}

function wrap(db: PGlite | Transaction, close: () => Promise<void>): SqlExecutor {
  return {
    async query<T>(text: string, params: SqlParam[] = []) {
      return (await db.query(text, params)).rows as T[]
    },
    async exec(text: string) {
      await db.exec(text)
    },
    async transaction<R>(fn: (tx: SqlExecutor) => Promise<R>): Promise<R> {
      // PGlite has no savepoint helper; a nested transaction joins the outer one.
      if (!('transaction' in db)) return fn(wrap(db, close))
      return db.transaction((tx) => fn(wrap(tx, close)))
    },
    close,
  }
}
