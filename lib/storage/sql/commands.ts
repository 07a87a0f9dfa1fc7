// Commands sent to nodes, in SQL. A result is recorded only while the command is still pending or
// sent, so an agent's retried answer cannot overwrite the first one or a timeout.
// A command's record and its result are committed asynchronously (synchronous_commit off for that one
// transaction, set inside the statement so it stays one round trip): a command does not wait for a
// WAL flush twice. A PostgreSQL crash (not a hub crash) can lose the last fraction of a second of
// command history; it never corrupts, and metrics, nodes and stacks keep their synchronous commits.
import { arrayLiteral, type SqlParam } from '../sql-executor.ts'
import type { CommandsStore } from '../store-parts.ts'
import type { CommandRecord } from '../types.ts'
import { assignments, type SqlContext } from './context.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

const commandColumns = {
  status: 'text',
  output: 'text',
  error: 'text',
  result: 'jsonb',
  durationMs: 'int',
  sentAt: 'timestamptz',
  finishedAt: 'timestamptz',
}

const ASYNC_COMMIT = `(select set_config('synchronous_commit', 'off', true)) as async_commit`

export const toCommand = (r: Row): CommandRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    nodeId: r.node_id,
    tool: r.tool,
    arguments: r.arguments,
    status: r.status,
    stackId: opt(r.stack_id),
    output: opt(r.output),
    error: opt(r.error),
    result: opt(r.result),
    durationMs: r.duration_ms === null ? undefined : Number(r.duration_ms),
    createdAt: iso(r.created_at)!,
    sentAt: iso(r.sent_at),
    finishedAt: iso(r.finished_at),
    askerHub: opt(r.asker_hub),
    holderHub: opt(r.holder_hub),
  })

/** The insert of one command record (parameters from `insertParams`), committed asynchronously. */
export const INSERT_COMMAND = `insert into commands (id, account_id, node_id, tool, arguments, status, stack_id, output, error, result, duration_ms, created_at, sent_at, finished_at, asker_hub, holder_hub)
         select $1::text, $2::text, $3::text, $4::text, $5::text::jsonb, $6::text, $7::text, $8::text, $9::text, $10::text::jsonb, $11::int,
                $12::text::timestamptz, $13::text::timestamptz, $14::text::timestamptz, $15::text, $16::text
         from ${ASYNC_COMMIT}`

export const insertParams = (record: CommandRecord): SqlParam[] => [
  record.id,
  record.accountId,
  record.nodeId,
  record.tool,
  json(record.arguments ?? {}),
  record.status,
  record.stackId ?? null,
  record.output ?? null,
  record.error ?? null,
  json(record.result),
  record.durationMs ?? null,
  record.createdAt,
  record.sentAt ?? null,
  record.finishedAt ?? null,
  record.askerHub ?? null,
  record.holderHub ?? null,
]

/** The `update ... set` of a result, applied only while the command is unfinished. */
export function finishStatement(accountId: string, id: string, patch: Record<string, unknown>): { text: string; params: SqlParam[] } {
  const params: SqlParam[] = [accountId, id]
  const sets = assignments(patch, commandColumns, params)
  return {
    text: `update commands set ${sets.join(', ')} from ${ASYNC_COMMIT} where account_id = $1 and id = $2 and status in ('pending', 'sent') returning 1`,
    params,
  }
}

export function createSqlCommands({ q, patchRow }: SqlContext): CommandsStore {
  return {
    async createCommand(record) {
      await q(INSERT_COMMAND, insertParams(record))
      return structuredClone(record)
    },
    async getCommand(accountId, id) {
      const [row] = await q('select * from commands where account_id = $1 and id = $2', [accountId, id])
      return row && toCommand(row)
    },
    async updateCommand(accountId, id, patch) {
      return patchRow('commands', accountId, id, patch, commandColumns)
    },
    async finishCommand(accountId, id, patch) {
      const { text, params } = finishStatement(accountId, id, patch)
      return (await q(text, params)).length > 0
    },
    async listCommands(accountId, filter = {}) {
      const params: SqlParam[] = [accountId]
      let where = 'account_id = $1'
      if (filter.nodeId !== undefined) {
        params.push(filter.nodeId)
        where += ` and node_id = $${params.length}`
      }
      if (filter.status !== undefined) {
        params.push(arrayLiteral(filter.status))
        where += ` and status = any($${params.length}::text::text[])`
      }
      params.push(filter.limit ?? 1000)
      return (await q(`select * from commands where ${where} order by created_at, id limit $${params.length}`, params)).map(toCommand)
    },
    async timeOutCommands(createdBefore, at) {
      const rows = await q(
        `update commands set status = 'timeout', finished_at = $2, error = coalesce(error, 'The node did not answer in time.')
         where status in ('pending', 'sent') and created_at < $1 returning *`,
        [createdBefore, at],
      )
      return rows.map(toCommand)
    },
  }
}
