// The audit log in SQL: append-only, listed newest first and paged by id.
import type { SqlParam } from '../sql-executor.ts'
import type { AuditStore } from '../store-parts.ts'
import type { AuditRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

const toAudit = (r: Row): AuditRecord =>
  clean({
    id: String(r.id),
    accountId: r.account_id,
    at: iso(r.at)!,
    actor: r.actor,
    action: r.action,
    target: r.target,
    details: opt(r.details),
  })

export function createSqlAudit({ q }: SqlContext): AuditStore {
  return {
    async appendAudit(record) {
      const [row] = await q(
        `insert into audit_log (account_id, at, actor, action, target, details) values ($1, $2, $3, $4, $5, $6::text::jsonb) returning *`,
        [record.accountId, record.at, record.actor, record.action, record.target, json(record.details)],
      )
      return toAudit(row!)
    },
    async listAudit(accountId, options = {}) {
      const params: SqlParam[] = [accountId, options.limit ?? 100]
      let where = 'account_id = $1'
      if (options.before !== undefined) {
        params.push(options.before)
        where += ` and id < $3::text::bigint`
      }
      return (await q(`select * from audit_log where ${where} order by id desc limit $2`, params)).map(toAudit)
    },
  }
}
