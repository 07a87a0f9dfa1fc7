// What every SQL aggregate shares: the executor, the store's clock and retention, and queries whose
// constraint violations come back as the store's `conflict` and `not_found` errors.
import { ThreshError } from '../../../core/index.ts'
import { conflict } from '../errors.ts'
import { resolveRetention } from '../metrics-tiers.ts'
import type { SqlExecutor, SqlParam } from '../sql-executor.ts'
import type { MetricsRetention, StoreOptions } from '../types.ts'
import { json, type Row } from './rows.ts'

const uniqueMessages: Record<string, (detail: string) => string> = {
  users_username_key: () => 'A user with that username already exists.',
  sessions_token_hash_key: () => 'That session token is already in use.',
  invitations_token_hash_key: () => 'That invitation token is already in use.',
  api_keys_key_hash_key: () => 'That key is already registered.',
  clusters_name_key: () => 'A cluster with that name already exists in this account.',
  stacks_name_key: () => 'A stack with that name already exists in this account.',
}

export interface SqlContext {
  db: SqlExecutor
  /** Plugin name for error messages. */
  plugin: string
  clock: () => Date
  retention: MetricsRetention
  /** Reports rows the database refused and the store dropped. */
  warn(message: string): void
  /** A query on `exec` (the pool or a transaction). */
  run<T = Row>(exec: SqlExecutor, text: string, params?: SqlParam[]): Promise<T[]>
  /** A query on the pool. */
  q<T = Row>(text: string, params?: SqlParam[]): Promise<T[]>
  /** Applies a patch to one row of the account; false if there is no such row. */
  patchRow(table: string, accountId: string, id: string, patch: Record<string, unknown>, columns: Record<string, string>): Promise<boolean>
}

export function createSqlContext(db: SqlExecutor, options: StoreOptions & { plugin: string }): SqlContext {
  const retention = resolveRetention(options.retention)
  const clock = options.now ?? (() => new Date())
  const plugin = options.plugin
  const warn = (message: string) => options.logger?.warn(message)

  async function run<T = Row>(exec: SqlExecutor, text: string, params: SqlParam[] = []): Promise<T[]> {
    try {
      return await exec.query<T>(text, params)
    } catch (error) {
      throw translate(error)
    }
  }
  const q = <T = Row>(text: string, params: SqlParam[] = []) => run<T>(db, text, params)

  function translate(error: unknown): unknown {
    const e = error as { code?: string; constraint?: string; constraint_name?: string; detail?: string; message?: string }
    if (e?.code === '23505') {
      const name = e.constraint ?? e.constraint_name ?? ''
      if (name === 'commands_stack_open') {
        return new ThreshError({ code: 'stack_busy', status: 409, message: 'The stack is busy with another operation; try again when it finishes.', plugin, cause: error })
      }
      const message = uniqueMessages[name]?.(e.detail ?? '') ?? 'A record with that id already exists.'
      return conflict(message, plugin, error)
    }
    if (e?.code === '23503') {
      return new ThreshError({ code: 'not_found', status: 404, message: 'The account or record it refers to does not exist.', plugin, cause: error })
    }
    return error
  }

  async function patchRow(table: string, accountId: string, id: string, patch: Record<string, unknown>, columns: Record<string, string>): Promise<boolean> {
    const params: SqlParam[] = [accountId, id]
    const sets = assignments(patch, columns, params)
    if (sets.length === 0) return (await q(`select 1 from ${table} where account_id = $1 and id = $2`, params)).length > 0
    const rows = await q(`update ${table} set ${sets.join(', ')} where account_id = $1 and id = $2 returning 1`, params)
    return rows.length > 0
  }

  return { db, plugin, clock, retention, warn, run, q, patchRow }
}

/** `update ... set` from a patch: undefined fields are left alone, null clears. */
export function assignments(patch: Record<string, unknown>, columns: Record<string, string>, params: SqlParam[]): string[] {
  const sets: string[] = []
  for (const [field, cast] of Object.entries(columns)) {
    if (!(field in patch) || patch[field] === undefined) continue
    const value = patch[field]
    const column = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    params.push(cast === 'jsonb' ? json(value) : (value as SqlParam))
    sets.push(`${column} = $${params.length}::text::${cast}`)
  }
  return sets
}
