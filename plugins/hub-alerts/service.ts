// The alerts service the REST API and the dashboard drive: the event log, rules, channels (secrets kept,
// never shown again), silences, the alert history and "send test". Checks every input at the edge.
import { randomUUID } from 'node:crypto'
import { parseDuration, ThreshError } from '../../core/index.ts'
import type { AlertChannelRecord, AlertRecord, AlertRuleKind, AlertRuleRecord, AlertScopeType, DeliveryRecord, EventQuery, EventRecord, FleetStore, SilenceRecord } from '../../lib/storage/index.ts'
import type { DeliveryOutcome } from './deliveries.ts'
import { WEBHOOK_TEMPLATES } from './templates.ts'

export const RULE_KINDS: readonly AlertRuleKind[] = [
  'node_offline', 'cpu', 'memory', 'disk', 'container_stopped', 'container_unhealthy', 'container_restarting', 'midtier_disconnected', 'cert_expiring',
]
export const SCOPE_TYPES: readonly AlertScopeType[] = ['account', 'cluster', 'node', 'stack']

/** A channel as the API shows it: the secret is gone, only whether there is one. */
export type ChannelView = Omit<AlertChannelRecord, 'secret'> & { hasSecret: boolean }

export interface RuleInput {
  name?: string
  kind: string
  scope?: string
  target?: string
  threshold?: number
  for?: string | number
  channels?: string[]
  enabled?: boolean
}

export interface ChannelInput {
  name: string
  type: string
  url?: string
  template?: string
  secret?: string
  host?: string
  port?: number
  secure?: boolean
  starttls?: boolean
  tlsVerify?: boolean
  username?: string
  password?: string
  from?: string
  to?: string[] | string
}

export interface AlertsService {
  listEvents(accountId: string, query: EventQuery): Promise<EventRecord[]>
  /** Calls `listener` with the account's events as they are stored, until the returned function is called. */
  /** Calls `listener` whenever events of the account were stored, by this hub or (relayed) another one. */
  followEvents(accountId: string, listener: () => void): () => void
  listRules(accountId: string): Promise<AlertRuleRecord[]>
  createRule(accountId: string, input: RuleInput): Promise<AlertRuleRecord>
  setRuleEnabled(accountId: string, id: string, enabled: boolean): Promise<AlertRuleRecord>
  deleteRule(accountId: string, id: string): Promise<void>
  listChannels(accountId: string): Promise<ChannelView[]>
  createChannel(accountId: string, input: ChannelInput): Promise<ChannelView>
  deleteChannel(accountId: string, id: string): Promise<void>
  testChannel(accountId: string, id: string): Promise<DeliveryOutcome>
  listDeliveries(accountId: string, channelId?: string): Promise<DeliveryRecord[]>
  listSilences(accountId: string): Promise<SilenceRecord[]>
  createSilence(accountId: string, input: { rule?: string; subject?: string; until?: string; for?: string; comment?: string }, actor: string): Promise<SilenceRecord>
  deleteSilence(accountId: string, id: string): Promise<void>
  listAlerts(accountId: string, state?: 'firing' | 'resolved', limit?: number): Promise<AlertRecord[]>
}

const bad = (message: string) => new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-alerts', message })
const notFound = (what: string, id: string) => new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-alerts', message: `No ${what} ${id} in this account.` })
const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`

export function viewChannel(channel: AlertChannelRecord): ChannelView {
  const { secret, ...rest } = channel
  return { ...rest, hasSecret: Boolean(secret) }
}

function durationOf(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const ms = typeof value === 'number' ? value * 1000 : parseDuration(value)
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 366 * 86_400_000) throw bad(`${name} must be a duration such as 30s, 5m or 2h (up to a year), got ${JSON.stringify(String(value).slice(0, 40))}.`)
  return ms
}

/** Defaults per kind: the threshold's meaning and the window. */
const DEFAULTS: Record<AlertRuleKind, { threshold?: number; forMs: number; range?: [number, number] }> = {
  node_offline: { forMs: 120_000 },
  cpu: { threshold: 90, forMs: 300_000, range: [1, 100] },
  memory: { threshold: 90, forMs: 300_000, range: [1, 100] },
  disk: { threshold: 90, forMs: 300_000, range: [1, 100] },
  container_stopped: { forMs: 0 },
  container_unhealthy: { forMs: 60_000 },
  container_restarting: { threshold: 3, forMs: 600_000, range: [0, 10_000] },
  midtier_disconnected: { forMs: 120_000 },
  cert_expiring: { threshold: 14, forMs: 0, range: [1, 3650] },
}

export function createAlertsService(
  store: FleetStore,
  test: (accountId: string, channelId: string) => Promise<DeliveryOutcome>,
  onStored: (listener: (accountId: string) => void) => () => void,
): AlertsService {
  const needRule = async (accountId: string, id: string) => (await store.getAlertRule(accountId, id)) ?? throwIt(notFound('alert rule', id))
  const needChannel = async (accountId: string, id: string) => (await store.getAlertChannel(accountId, id)) ?? throwIt(notFound('channel', id))
  const channelRef = async (accountId: string, ref: string) => {
    const channels = await store.listAlertChannels(accountId)
    const found = channels.find((c) => c.id === ref) ?? channels.find((c) => c.name === ref)
    if (!found) throw bad(`No channel ${JSON.stringify(ref)} in this account (create it first: thresh alert channel add).`)
    return found.id
  }
  const ruleRef = async (accountId: string, ref: string) => {
    const rules = await store.listAlertRules(accountId)
    return (rules.find((r) => r.id === ref) ?? rules.find((r) => r.name === ref) ?? throwIt(notFound('alert rule', ref))).id
  }

  return {
    listEvents: (accountId, query) => store.listEvents(accountId, query),
    followEvents: (accountId, listener) => onStored((account) => account === accountId && listener()),
    listRules: (accountId) => store.listAlertRules(accountId),
    async createRule(accountId, input) {
      const kind = input.kind as AlertRuleKind
      if (!RULE_KINDS.includes(kind)) throw bad(`kind must be one of ${RULE_KINDS.join(', ')}.`)
      const scopeType = (input.scope ?? 'account') as AlertScopeType
      if (!SCOPE_TYPES.includes(scopeType)) throw bad(`scope must be one of ${SCOPE_TYPES.join(', ')}.`)
      if (scopeType !== 'account' && !input.target) throw bad(`A ${scopeType} scope needs target: the ${scopeType}'s name.`)
      const d = DEFAULTS[kind]
      const threshold = input.threshold ?? d.threshold
      if (d.range && threshold !== undefined && (threshold < d.range[0] || threshold > d.range[1])) {
        throw bad(`threshold for ${kind} must be between ${d.range[0]} and ${d.range[1]}.`)
      }
      if (!d.range && input.threshold !== undefined) throw bad(`${kind} takes no threshold.`)
      const durationMs = durationOf(input.for, 'for', d.forMs)
      const channelIds: string[] = []
      for (const ref of input.channels ?? []) channelIds.push(await channelRef(accountId, ref))
      return store.createAlertRule({
        id: newId('rule'),
        accountId,
        name: input.name?.trim() || `${kind}${scopeType === 'account' ? '' : ` on ${input.target}`}`,
        kind,
        scopeType,
        ...(scopeType !== 'account' ? { scopeValue: input.target! } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
        durationMs,
        channelIds: [...new Set(channelIds)],
        enabled: input.enabled ?? true,
        createdAt: new Date().toISOString(),
      })
    },
    async setRuleEnabled(accountId, ref, enabled) {
      const id = await ruleRef(accountId, ref)
      await store.updateAlertRule(accountId, id, { enabled })
      return needRule(accountId, id)
    },
    async deleteRule(accountId, ref) {
      await store.deleteAlertRule(accountId, await ruleRef(accountId, ref))
    },

    listChannels: async (accountId) => (await store.listAlertChannels(accountId)).map(viewChannel),
    async createChannel(accountId, input) {
      const base = { id: newId('chan'), accountId, name: input.name, status: 'ok' as const, failures: 0, lastAttempts: [], createdAt: new Date().toISOString() }
      if ((await store.listAlertChannels(accountId)).some((c) => c.name === input.name)) {
        throw new ThreshError({ code: 'conflict', status: 409, plugin: 'hub-alerts', message: `A channel named ${input.name} already exists in this account.` })
      }
      if (input.type === 'webhook') {
        let url: URL
        try {
          url = new URL(input.url ?? '')
        } catch {
          throw bad('A webhook channel needs url: an http:// or https:// address.')
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('A webhook url must be http:// or https://.')
        const template = input.template ?? 'json'
        if (!WEBHOOK_TEMPLATES.includes(template as never)) throw bad(`template must be one of ${WEBHOOK_TEMPLATES.join(', ')}.`)
        return viewChannel(await store.createAlertChannel({ ...base, type: 'webhook', config: { url: url.toString(), template }, ...(input.secret ? { secret: input.secret } : {}) }))
      }
      if (input.type === 'email') {
        if (!input.host) throw bad('An email channel needs host: the SMTP server.')
        const to = (Array.isArray(input.to) ? input.to : String(input.to ?? '').split(',')).map((s) => s.trim()).filter(Boolean)
        const address = /^[^\s@<>]+@[^\s@<>]+$/
        if (to.length === 0 || to.some((a) => !address.test(a))) throw bad('An email channel needs to: one or more e-mail addresses.')
        if (!input.from || !address.test(input.from.replace(/^.*<([^>]+)>\s*$/, '$1'))) throw bad('An email channel needs from: the sender address.')
        if (input.password && !input.username) throw bad('password needs username.')
        const secure = Boolean(input.secure)
        const config = {
          host: input.host,
          port: input.port ?? (secure ? 465 : 587),
          secure,
          starttls: input.starttls ?? !secure,
          tlsVerify: input.tlsVerify ?? true,
          ...(input.username ? { username: input.username } : {}),
          from: input.from,
          to,
        }
        return viewChannel(await store.createAlertChannel({ ...base, type: 'email', config, ...(input.password ? { secret: input.password } : {}) }))
      }
      throw bad('type must be webhook or email.')
    },
    async deleteChannel(accountId, ref) {
      const channels = await store.listAlertChannels(accountId)
      const channel = channels.find((c) => c.id === ref) ?? channels.find((c) => c.name === ref) ?? throwIt(notFound('channel', ref))
      await store.deleteAlertChannel(accountId, channel.id)
      for (const rule of await store.listAlertRules(accountId)) {
        if (rule.channelIds.includes(channel.id)) await store.updateAlertRule(accountId, rule.id, { channelIds: rule.channelIds.filter((c) => c !== channel.id) })
      }
    },
    async testChannel(accountId, ref) {
      const id = await channelRef(accountId, ref).catch(() => throwIt(notFound('channel', ref)))
      await needChannel(accountId, id)
      return test(accountId, id)
    },
    async listDeliveries(accountId, channelRefValue) {
      const channelId = channelRefValue ? await channelRef(accountId, channelRefValue) : undefined
      return store.listDeliveries(accountId, { ...(channelId ? { channelId } : {}), limit: 50 })
    },

    listSilences: (accountId) => store.listSilences(accountId),
    async createSilence(accountId, input, actor) {
      if (!input.rule && !input.subject) throw bad('A silence needs rule (a rule id or name) or subject (a node, stack or container name), or both.')
      const ruleId = input.rule ? await ruleRef(accountId, input.rule) : undefined
      let endsAt: number
      if (input.until) {
        endsAt = Date.parse(input.until)
        if (!Number.isFinite(endsAt)) throw bad('until must be an ISO-8601 time.')
      } else endsAt = Date.now() + durationOf(input.for, 'for', 3_600_000)
      if (endsAt <= Date.now()) throw bad('A silence must end in the future.')
      return store.createSilence({
        id: newId('sil'),
        accountId,
        ...(ruleId ? { ruleId } : {}),
        ...(input.subject ? { subject: input.subject } : {}),
        endsAt: new Date(endsAt).toISOString(),
        comment: input.comment ?? '',
        createdBy: actor,
        createdAt: new Date().toISOString(),
      })
    },
    async deleteSilence(accountId, id) {
      if (!(await store.deleteSilence(accountId, id))) throw notFound('silence', id)
    },
    listAlerts: (accountId, state, limit) => store.listAlerts(accountId, { ...(state ? { state } : {}), limit: limit ?? 100 }),
  }
}

function throwIt(error: Error): never {
  throw error
}
