// The tiny interface the shared SQL store runs on: one per driver (postgres, PGlite). Parameters are
// only strings, numbers, booleans and null, so both drivers bind them the same way; SQL casts them.
export type SqlParam = string | number | boolean | null

export interface SqlExecutor {
  query<T = Record<string, unknown>>(text: string, params?: SqlParam[]): Promise<T[]>
  /** Runs a script of several statements without parameters (migrations). */
  exec(text: string): Promise<void>
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<R>(fn: (tx: SqlExecutor) => Promise<R>): Promise<R>
  close(): Promise<void>
}

/** A PostgreSQL array literal (`{1,2}` / `{"a","b"}`) for a text parameter cast to an array type. */
export function arrayLiteral(values: ReadonlyArray<string | number | null>): string {
  const items = values.map((v) => {
    if (v === null) return 'NULL'
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL'
    return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
  })
  return `{${items.join(',')}}`
}
