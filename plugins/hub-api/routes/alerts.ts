// alerts: rules, notification channels (secrets never shown after creation), silences and the alert history.
import { actorOf } from '../../../lib/auth/principal.ts'
import { arr, bool, int, num, obj, str } from '../schema.ts'
import { alertsOf } from './events.ts'
import { bad, ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

const KINDS = ['node_offline', 'cpu', 'memory', 'disk', 'container_stopped', 'container_unhealthy', 'container_restarting', 'midtier_disconnected', 'cert_expiring'] as const
const NAME_TEXT = str({ minLength: 1, maxLength: 100 })

const ruleSchema = obj({
  id: str(),
  name: str(),
  kind: str({ enum: KINDS }),
  scopeType: str({ enum: ['account', 'cluster', 'node', 'stack'] }),
  scopeValue: str(),
  threshold: num(),
  durationMs: int(),
  channelIds: arr(str()),
  enabled: bool(),
  createdAt: str({ format: 'date-time' }),
})
const attemptSchema = obj({ at: str({ format: 'date-time' }), ok: bool(), detail: str(), deliveryId: str() })
const channelSchema = obj({
  id: str(),
  name: str(),
  type: str({ enum: ['webhook', 'email'] }),
  config: { type: 'object', additionalProperties: true, description: 'webhook: url, template; email: host, port, secure, starttls, tlsVerify, username, from, to' },
  hasSecret: bool({ description: 'whether a signing secret or SMTP password is set (it is never shown)' }),
  status: str({ enum: ['ok', 'failing'] }),
  failures: int(),
  lastAttempts: arr(attemptSchema),
  createdAt: str({ format: 'date-time' }),
})
const silenceSchema = obj({ id: str(), ruleId: str(), subject: str(), endsAt: str({ format: 'date-time' }), comment: str(), createdBy: str(), createdAt: str({ format: 'date-time' }) })
const alertSchema = obj({
  id: str(),
  ruleId: str(),
  ruleName: str(),
  kind: str(),
  subject: str(),
  state: str({ enum: ['firing', 'resolved'] }),
  severity: str(),
  message: str(),
  details: { type: 'object', additionalProperties: true },
  startedAt: str({ format: 'date-time' }),
  resolvedAt: str({ format: 'date-time' }),
  silenced: bool(),
})
const strip = <T extends { accountId?: string }>(record: T) => {
  const { accountId: _accountId, ...rest } = record
  return rest
}

export const alertRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/alerts',
    summary: 'The alert history, newest first (state=firing for the active ones)',
    tag: 'alerts',
    scope: 'cli',
    role: 'viewer',
    query: { state: str({ enum: ['firing', 'resolved'] }), limit: int({ minimum: 1, maximum: 1000 }) },
    status: 200,
    response: obj({ alerts: arr(alertSchema) }),
    async handle({ principal, query, services }) {
      const state = query.state as 'firing' | 'resolved' | undefined
      if (state !== undefined && state !== 'firing' && state !== 'resolved') throw bad('state must be firing or resolved.')
      const max = query.limit ? Number(query.limit) : 100
      if (!Number.isInteger(max) || max < 1 || max > 1000) throw bad('limit must be a whole number from 1 to 1000.')
      return ok({ alerts: (await alertsOf(services).listAlerts(principal!.accountId, state, max)).map(strip) })
    },
  },
  {
    method: 'get',
    path: '/api/alerts/rules',
    summary: 'List alert rules',
    tag: 'alerts',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ rules: arr(ruleSchema) }),
    async handle({ principal, services }) {
      return ok({ rules: (await alertsOf(services).listRules(principal!.accountId)).map(strip) })
    },
  },
  {
    method: 'post',
    path: '/api/alerts/rules',
    summary: 'Create an alert rule',
    description:
      'kind: node_offline (offline for longer than `for`), cpu/memory/disk (above `threshold` % for `for`), container_stopped, container_unhealthy, container_restarting (more than `threshold` restarts within `for`), midtier_disconnected, cert_expiring (fewer than `threshold` days left). scope: account (default), cluster, node or stack, with `target` naming it.',
    tag: 'alerts',
    scope: 'cli',
    role: 'admin',
    body: obj(
      {
        name: NAME_TEXT,
        kind: str({ enum: KINDS }),
        scope: str({ enum: ['account', 'cluster', 'node', 'stack'] }),
        target: str({ minLength: 1, maxLength: 256 }),
        threshold: num({ minimum: 0, maximum: 10_000 }),
        for: str({ maxLength: 32, description: 'a duration: 30s, 5m, 2h' }),
        channels: arr(str({ maxLength: 128 }), { maxItems: 20, description: 'channel ids or names' }),
        enabled: bool(),
      },
      ['kind'],
    ),
    status: 201,
    response: ruleSchema,
    async handle({ principal, body, services }) {
      const rule = await alertsOf(services).createRule(principal!.accountId, body as never)
      await services.audit.record({ accountId: principal!.accountId, actor: actorOf(principal!), action: 'alert.rule.create', target: `rule:${rule.name}`, details: { id: rule.id, kind: rule.kind } })
      return ok(strip(rule), 201)
    },
  },
  {
    method: 'patch',
    path: '/api/alerts/rules/{id}',
    summary: 'Enable or disable an alert rule',
    tag: 'alerts',
    scope: 'cli',
    role: 'admin',
    body: obj({ enabled: bool() }, ['enabled']),
    status: 200,
    response: ruleSchema,
    async handle({ principal, params, body, services }) {
      const rule = await alertsOf(services).setRuleEnabled(principal!.accountId, params.id!, (body as { enabled: boolean }).enabled)
      return ok(strip(rule))
    },
  },
  {
    method: 'delete',
    path: '/api/alerts/rules/{id}',
    summary: 'Delete an alert rule (its firing alerts resolve quietly)',
    tag: 'alerts',
    scope: 'cli',
    role: 'admin',
    status: 200,
    async handle({ principal, params, services }) {
      await alertsOf(services).deleteRule(principal!.accountId, params.id!)
      await services.audit.record({ accountId: principal!.accountId, actor: actorOf(principal!), action: 'alert.rule.delete', target: `rule:${params.id}` })
      return ok({ deleted: params.id })
    },
  },
  {
    method: 'get',
    path: '/api/alerts/channels',
    summary: 'List notification channels with their health and last attempts (secrets are never shown)',
    tag: 'alerts',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ channels: arr(channelSchema) }),
    async handle({ principal, services }) {
      return ok({ channels: (await alertsOf(services).listChannels(principal!.accountId)).map(strip) })
    },
  },
  {
    method: 'post',
    path: '/api/alerts/channels',
    summary: 'Create a notification channel: a webhook (json, slack, discord or ntfy template; HMAC-SHA256 signed with `secret`) or SMTP e-mail',
    description:
      'Webhook calls carry `X-Thresh-Timestamp` and `X-Thresh-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. `secret` and `password` are stored and never returned.',
    tag: 'alerts',
    scope: 'cli',
    role: 'admin',
    body: obj(
      {
        name: NAME_TEXT,
        type: str({ enum: ['webhook', 'email'] }),
        url: str({ maxLength: 2048 }),
        template: str({ enum: ['json', 'slack', 'discord', 'ntfy'] }),
        secret: str({ minLength: 8, maxLength: 256 }),
        host: str({ maxLength: 253 }),
        port: int({ minimum: 1, maximum: 65535 }),
        secure: bool({ description: 'TLS from the first byte (port 465)' }),
        starttls: bool({ description: 'require STARTTLS (default unless secure)' }),
        tlsVerify: bool(),
        username: str({ maxLength: 256 }),
        password: str({ maxLength: 256 }),
        from: str({ maxLength: 320 }),
        to: arr(str({ maxLength: 320 }), { maxItems: 50 }),
      },
      ['name', 'type'],
    ),
    status: 201,
    response: channelSchema,
    async handle({ principal, body, services }) {
      const channel = await alertsOf(services).createChannel(principal!.accountId, body as never)
      await services.audit.record({ accountId: principal!.accountId, actor: actorOf(principal!), action: 'alert.channel.create', target: `channel:${channel.name}`, details: { id: channel.id, type: channel.type } })
      return ok(strip(channel), 201)
    },
  },
  {
    method: 'delete',
    path: '/api/alerts/channels/{id}',
    summary: 'Delete a notification channel',
    tag: 'alerts',
    scope: 'cli',
    role: 'admin',
    status: 200,
    async handle({ principal, params, services }) {
      await alertsOf(services).deleteChannel(principal!.accountId, params.id!)
      await services.audit.record({ accountId: principal!.accountId, actor: actorOf(principal!), action: 'alert.channel.delete', target: `channel:${params.id}` })
      return ok({ deleted: params.id })
    },
  },
  {
    method: 'post',
    path: '/api/alerts/channels/{id}/test',
    summary: 'Send a test notification through a channel and answer with how it went',
    tag: 'alerts',
    scope: 'cli',
    role: 'operator',
    status: 200,
    response: obj({ ok: bool(), detail: str() }),
    async handle({ principal, params, services }) {
      return ok(await alertsOf(services).testChannel(principal!.accountId, params.id!))
    },
  },
  {
    method: 'get',
    path: '/api/alerts/channels/{id}/deliveries',
    summary: "A channel's recent deliveries: status, attempts and last error",
    tag: 'alerts',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    async handle({ principal, params, services }) {
      const deliveries = await alertsOf(services).listDeliveries(principal!.accountId, params.id!)
      return ok({ deliveries: deliveries.map(({ payload: _payload, accountId: _accountId, ...rest }) => rest) })
    },
  },
  {
    method: 'get',
    path: '/api/alerts/silences',
    summary: 'List silences',
    tag: 'alerts',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ silences: arr(silenceSchema) }),
    async handle({ principal, services }) {
      return ok({ silences: (await alertsOf(services).listSilences(principal!.accountId)).map(strip) })
    },
  },
  {
    method: 'post',
    path: '/api/alerts/silences',
    summary: 'Silence alerts of a rule and/or about a subject (node, stack or container name) until a time',
    tag: 'alerts',
    scope: 'cli',
    role: 'operator',
    body: obj({
      rule: str({ maxLength: 128, description: 'a rule id or name' }),
      subject: str({ maxLength: 256 }),
      until: str({ maxLength: 64, description: 'ISO-8601 end time' }),
      for: str({ maxLength: 32, description: 'or a duration from now (default 1h)' }),
      comment: str({ maxLength: 500 }),
    }),
    status: 201,
    response: silenceSchema,
    async handle({ principal, body, services }) {
      const silence = await alertsOf(services).createSilence(principal!.accountId, body as never, actorOf(principal!))
      await services.audit.record({ accountId: principal!.accountId, actor: actorOf(principal!), action: 'alert.silence.create', target: `silence:${silence.id}`, details: { ruleId: silence.ruleId, subject: silence.subject, endsAt: silence.endsAt } })
      return ok(strip(silence), 201)
    },
  },
  {
    method: 'delete',
    path: '/api/alerts/silences/{id}',
    summary: 'End a silence now',
    tag: 'alerts',
    scope: 'cli',
    role: 'operator',
    status: 200,
    async handle({ principal, params, services }) {
      await alertsOf(services).deleteSilence(principal!.accountId, params.id!)
      return ok({ deleted: params.id })
    },
  },
]
