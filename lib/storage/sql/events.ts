// The fleet event log in SQL: appended in one statement per batch, read newest first (or oldest first
// after a cursor, for following), filtered by node, stack, time and kind, pruned by age.
import type { SqlParam } from '../sql-executor.ts'
import type { AlertingStore, EventRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, opt, type Row } from './rows.ts'

export const toEvent = (r: Row): EventRecord =>
  clean({
    id: String(r.id),
    accountId: r.account_id,
    at: iso(r.at)!,
    kind: r.kind,
    severity: r.severity,
    nodeId: opt(r.node_id),
    stack: opt(r.stack),
    message: r.message,
    details: opt(r.details),
  })

export function createSqlEvents({ q }: SqlContext): Pick<AlertingStore, 'appendEvents' | 'listEvents' | 'pruneEvents'> {
  return {
    async appendEvents(accountId, events) {
      if (events.length === 0) return []
      // One statement for the batch: the events travel as one JSON parameter, whatever their number.
      const rows = await q(
        `insert into events (account_id, at, kind, severity, node_id, stack, message, details)
         select $1, e.at, e.kind, e.severity, e."nodeId", e.stack, e.message, e.details
         from jsonb_to_recordset($2::text::jsonb) as e(at timestamptz, kind text, severity text, "nodeId" text, stack text, message text, details jsonb)
         returning *`,
        [accountId, JSON.stringify(events)],
      )
      return rows.map(toEvent)
    },
    async listEvents(accountId, query = {}) {
      const params: SqlParam[] = [accountId]
      const where = ['account_id = $1']
      const add = (sql: string, value: SqlParam) => {
        params.push(value)
        where.push(sql.replace('?', `$${params.length}`))
      }
      if (query.nodeId !== undefined) add('node_id = ?', query.nodeId)
      if (query.stack !== undefined) add('stack = ?', query.stack)
      if (query.since !== undefined) add('at >= ?::timestamptz', query.since)
      if (query.before !== undefined) add('id < ?::text::bigint', query.before)
      if (query.after !== undefined) add('id > ?::text::bigint', query.after)
      if (query.kinds?.length) add('kind in (select jsonb_array_elements_text(?::text::jsonb))', JSON.stringify(query.kinds))
      params.push(query.limit ?? 100)
      const order = query.after !== undefined ? 'asc' : 'desc'
      return (await q(`select * from events where ${where.join(' and ')} order by id ${order} limit $${params.length}`, params)).map(toEvent)
    },
    async pruneEvents(before) {
      return (await q('delete from events where at < $1 returning 1', [before])).length
    },
  }
}
