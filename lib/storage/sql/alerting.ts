// Alert rules, notification channels, silences, the alert history and the delivery queue in SQL.
import type { AlertChannelRecord, AlertingStore, AlertRecord, AlertRuleRecord, DeliveryRecord, SilenceRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v))

const toRule = (r: Row): AlertRuleRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    kind: r.kind,
    scopeType: r.scope_type,
    scopeValue: opt(r.scope_value),
    threshold: num(r.threshold),
    durationMs: Number(r.duration_ms),
    channelIds: r.channel_ids ?? [],
    enabled: Boolean(r.enabled),
    createdAt: iso(r.created_at)!,
  })

const toChannel = (r: Row): AlertChannelRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    type: r.type,
    config: r.config ?? {},
    secret: opt(r.secret),
    status: r.status,
    failures: Number(r.failures),
    lastAttempts: r.last_attempts ?? [],
    createdAt: iso(r.created_at)!,
  })

const toSilence = (r: Row): SilenceRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    ruleId: opt(r.rule_id),
    subject: opt(r.subject),
    endsAt: iso(r.ends_at)!,
    comment: r.comment,
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
  })

const toAlert = (r: Row): AlertRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    kind: r.kind,
    subject: r.subject,
    state: r.state,
    severity: r.severity,
    message: r.message,
    details: opt(r.details),
    startedAt: iso(r.started_at)!,
    resolvedAt: iso(r.resolved_at),
    silenced: Boolean(r.silenced),
  })

const toDelivery = (r: Row): DeliveryRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    channelId: r.channel_id,
    alertId: opt(r.alert_id),
    event: r.event,
    payload: r.payload,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: iso(r.next_attempt_at)!,
    lastError: opt(r.last_error),
    createdAt: iso(r.created_at)!,
    deliveredAt: iso(r.delivered_at),
  })

export function createSqlAlerting({ q, db, run, patchRow }: SqlContext): Omit<AlertingStore, 'appendEvents' | 'listEvents' | 'pruneEvents'> {
  return {
    async createAlertRule(r) {
      const [row] = await q(
        `insert into alert_rules (id, account_id, name, kind, scope_type, scope_value, threshold, duration_ms, channel_ids, enabled, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11) returning *`,
        [r.id, r.accountId, r.name, r.kind, r.scopeType, r.scopeValue ?? null, r.threshold ?? null, r.durationMs, json(r.channelIds), r.enabled, r.createdAt],
      )
      return toRule(row!)
    },
    async getAlertRule(accountId, id) {
      const [row] = await q('select * from alert_rules where account_id = $1 and id = $2', [accountId, id])
      return row ? toRule(row) : undefined
    },
    async listAlertRules(accountId) {
      return (await q('select * from alert_rules where account_id = $1 order by created_at, id', [accountId])).map(toRule)
    },
    async listEnabledAlertRules() {
      return (await q('select * from alert_rules where enabled order by account_id, created_at, id')).map(toRule)
    },
    updateAlertRule(accountId, id, patch) {
      return patchRow('alert_rules', accountId, id, patch, { enabled: 'boolean', channelIds: 'jsonb', threshold: 'double precision', durationMs: 'bigint', name: 'text' })
    },
    async deleteAlertRule(accountId, id) {
      return (await q('delete from alert_rules where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },

    async createAlertChannel(r) {
      const [row] = await q(
        `insert into alert_channels (id, account_id, name, type, config, secret, status, failures, last_attempts, created_at)
         values ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9::text::jsonb, $10) returning *`,
        [r.id, r.accountId, r.name, r.type, json(r.config), r.secret ?? null, r.status, r.failures, json(r.lastAttempts), r.createdAt],
      )
      return toChannel(row!)
    },
    async getAlertChannel(accountId, id) {
      const [row] = await q('select * from alert_channels where account_id = $1 and id = $2', [accountId, id])
      return row ? toChannel(row) : undefined
    },
    async listAlertChannels(accountId) {
      return (await q('select * from alert_channels where account_id = $1 order by created_at, id', [accountId])).map(toChannel)
    },
    updateAlertChannel(accountId, id, patch) {
      return patchRow('alert_channels', accountId, id, patch, { status: 'text', failures: 'integer', lastAttempts: 'jsonb' })
    },
    async deleteAlertChannel(accountId, id) {
      return (await q('delete from alert_channels where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },

    async createSilence(r) {
      const [row] = await q(
        `insert into alert_silences (id, account_id, rule_id, subject, ends_at, comment, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning *`,
        [r.id, r.accountId, r.ruleId ?? null, r.subject ?? null, r.endsAt, r.comment, r.createdBy, r.createdAt],
      )
      return toSilence(row!)
    },
    async listSilences(accountId) {
      return (await q('select * from alert_silences where account_id = $1 order by created_at, id', [accountId])).map(toSilence)
    },
    async deleteSilence(accountId, id) {
      return (await q('delete from alert_silences where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },

    async openAlert(r) {
      const rows = await q(
        `insert into alerts (id, account_id, rule_id, rule_name, kind, subject, state, severity, message, details, started_at, silenced)
         values ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9::text::jsonb, $10, $11)
         on conflict (account_id, rule_id, subject) where state = 'firing' do nothing returning *`,
        [r.id, r.accountId, r.ruleId, r.ruleName, r.kind, r.subject, r.severity, r.message, json(r.details), r.startedAt, r.silenced],
      )
      return rows[0] ? toAlert(rows[0]) : undefined
    },
    async resolveAlert(accountId, id, at) {
      const rows = await q(`update alerts set state = 'resolved', resolved_at = $3 where account_id = $1 and id = $2 and state = 'firing' returning 1`, [accountId, id, at])
      return rows.length > 0
    },
    async unsilenceAlert(accountId, id) {
      return (await q(`update alerts set silenced = false where account_id = $1 and id = $2 and state = 'firing' and silenced returning 1`, [accountId, id])).length > 0
    },
    async listAlerts(accountId, options = {}) {
      const params = [accountId, options.limit ?? 100] as Array<string | number>
      let where = 'account_id = $1'
      if (options.state) {
        params.push(options.state)
        where += ' and state = $3'
      }
      return (await q(`select * from alerts where ${where} order by started_at desc, id desc limit $2`, params)).map(toAlert)
    },
    async listFiringAlerts() {
      return (await q(`select * from alerts where state = 'firing'`)).map(toAlert)
    },

    async enqueueDeliveries(records) {
      if (records.length === 0) return
      await q(
        `insert into alert_deliveries (id, account_id, channel_id, alert_id, event, payload, status, attempts, next_attempt_at, created_at)
         select d.id, d."accountId", d."channelId", d."alertId", d.event, d.payload, d.status, d.attempts, d."nextAttemptAt", d."createdAt"
         from jsonb_to_recordset($1::text::jsonb) as d(id text, "accountId" text, "channelId" text, "alertId" text, event text, payload jsonb,
           status text, attempts integer, "nextAttemptAt" timestamptz, "createdAt" timestamptz)`,
        [JSON.stringify(records)],
      )
    },
    async claimDeliveries(now, leaseMs, limit) {
      // Leased in one statement (skip locked): two hubs on one database never take the same delivery.
      return db.transaction(async (tx) => {
        const rows = await run(
          tx,
          `update alert_deliveries set next_attempt_at = $1::timestamptz + ($2::text || ' milliseconds')::interval
           where id in (select id from alert_deliveries where status = 'pending' and next_attempt_at <= $1
                        order by next_attempt_at, created_at limit $3 for update skip locked)
           returning *`,
          [now, String(leaseMs), limit],
        )
        return rows.map(toDelivery).sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      })
    },
    async updateDelivery(id, patch) {
      const sets: string[] = []
      const params: Array<string | number | null> = [id]
      const col = { status: 'status', attempts: 'attempts', nextAttemptAt: 'next_attempt_at', lastError: 'last_error', deliveredAt: 'delivered_at' } as const
      for (const [field, column] of Object.entries(col)) {
        const value = patch[field as keyof typeof patch]
        if (value === undefined) continue
        params.push(value)
        sets.push(`${column} = $${params.length}`)
      }
      if (sets.length === 0) return true
      return (await q(`update alert_deliveries set ${sets.join(', ')} where id = $1 returning 1`, params)).length > 0
    },
    async listDeliveries(accountId, options = {}) {
      const params = [accountId, options.limit ?? 50] as Array<string | number>
      let where = 'account_id = $1'
      if (options.channelId) {
        params.push(options.channelId)
        where += ' and channel_id = $3'
      }
      return (await q(`select * from alert_deliveries where ${where} order by created_at desc, id desc limit $2`, params)).map(toDelivery)
    },
  }
}
