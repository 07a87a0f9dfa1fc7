// Fleet events and alerting in memory: the event log with sequential ids, rules, channels, silences,
// the alert history (one firing alert per rule and subject) and the delivery queue with leases.
import type { AlertChannelRecord, AlertingStore, AlertRecord, AlertRuleRecord, DeliveryRecord, EventRecord, SilenceRecord } from '../../lib/storage/types.ts'
import { applyPatch, copy, time } from './records.ts'
import { ensureNewId, inAccount, needAccount, type MemoryState } from './state.ts'

const byCreated = <T extends { createdAt: string; id: string }>(a: T, b: T) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)

export function createMemoryAlerting(state: MemoryState): AlertingStore {
  const events: EventRecord[] = []
  let eventSeq = 0
  const rules = new Map<string, AlertRuleRecord>()
  const channels = new Map<string, AlertChannelRecord>()
  const silences = new Map<string, SilenceRecord>()
  const alerts = new Map<string, AlertRecord>()
  const deliveries = new Map<string, DeliveryRecord>()

  const list = <T extends { accountId: string; createdAt: string; id: string }>(map: Map<string, T>, accountId: string) =>
    copy([...map.values()].filter((r) => r.accountId === accountId).sort(byCreated))
  const remove = <T extends { accountId: string }>(map: Map<string, T>, accountId: string, id: string) => {
    if (!inAccount(map, accountId, id)) return false
    return map.delete(id)
  }
  const create = <T extends { accountId: string; id: string }>(map: Map<string, T>, record: T) => {
    needAccount(state, record.accountId)
    ensureNewId(map, record.id)
    map.set(record.id, copy(record))
    return copy(record)
  }

  return {
    async appendEvents(accountId, input) {
      needAccount(state, accountId)
      const stored = input.map((e) => ({ ...copy(e), at: new Date(e.at).toISOString(), id: String(++eventSeq), accountId }))
      events.push(...stored)
      return copy(stored)
    },
    async listEvents(accountId, query = {}) {
      const since = query.since === undefined ? -Infinity : time(query.since)
      const before = query.before === undefined ? Infinity : Number(query.before)
      const after = query.after === undefined ? -Infinity : Number(query.after)
      const matched = events.filter(
        (e) =>
          e.accountId === accountId &&
          (query.nodeId === undefined || e.nodeId === query.nodeId) &&
          (query.stack === undefined || e.stack === query.stack) &&
          time(e.at) >= since &&
          Number(e.id) < before &&
          Number(e.id) > after &&
          (!query.kinds?.length || query.kinds.includes(e.kind)),
      )
      const ordered = query.after !== undefined ? matched : matched.reverse()
      return copy(ordered.slice(0, query.limit ?? 100))
    },
    async pruneEvents(before) {
      const cutoff = time(before)
      let removed = 0
      for (let i = events.length - 1; i >= 0; i--) {
        if (time(events[i]!.at) < cutoff) {
          events.splice(i, 1)
          removed++
        }
      }
      return removed
    },

    createAlertRule: async (record) => create(rules, record),
    getAlertRule: async (accountId, id) => copy(inAccount(rules, accountId, id)),
    listAlertRules: async (accountId) => list(rules, accountId),
    listEnabledAlertRules: async () => copy([...rules.values()].filter((r) => r.enabled)),
    async updateAlertRule(accountId, id, patch) {
      const rule = inAccount(rules, accountId, id)
      if (!rule) return false
      applyPatch(rule, patch)
      return true
    },
    deleteAlertRule: async (accountId, id) => remove(rules, accountId, id),

    createAlertChannel: async (record) => create(channels, record),
    getAlertChannel: async (accountId, id) => copy(inAccount(channels, accountId, id)),
    listAlertChannels: async (accountId) => list(channels, accountId),
    async updateAlertChannel(accountId, id, patch) {
      const channel = inAccount(channels, accountId, id)
      if (!channel) return false
      applyPatch(channel, patch)
      return true
    },
    deleteAlertChannel: async (accountId, id) => remove(channels, accountId, id),

    createSilence: async (record) => create(silences, { ...record, endsAt: new Date(record.endsAt).toISOString() }),
    listSilences: async (accountId) => list(silences, accountId),
    deleteSilence: async (accountId, id) => remove(silences, accountId, id),

    async openAlert(record) {
      needAccount(state, record.accountId)
      for (const a of alerts.values()) {
        if (a.accountId === record.accountId && a.ruleId === record.ruleId && a.subject === record.subject && a.state === 'firing') return undefined
      }
      ensureNewId(alerts, record.id)
      const stored = { ...copy(record), state: 'firing' as const }
      alerts.set(record.id, stored)
      return copy(stored)
    },
    async resolveAlert(accountId, id, at) {
      const alert = inAccount(alerts, accountId, id)
      if (!alert || alert.state !== 'firing') return false
      alert.state = 'resolved'
      alert.resolvedAt = new Date(at).toISOString()
      return true
    },
    async unsilenceAlert(accountId, id) {
      const alert = inAccount(alerts, accountId, id)
      if (!alert || alert.state !== 'firing' || !alert.silenced) return false
      alert.silenced = false
      return true
    },
    async listAlerts(accountId, options = {}) {
      return copy(
        [...alerts.values()]
          .filter((a) => a.accountId === accountId && (!options.state || a.state === options.state))
          .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id))
          .slice(0, options.limit ?? 100),
      )
    },
    listFiringAlerts: async () => copy([...alerts.values()].filter((a) => a.state === 'firing')),

    async enqueueDeliveries(records) {
      for (const r of records) {
        needAccount(state, r.accountId)
        ensureNewId(deliveries, r.id)
      }
      for (const r of records) deliveries.set(r.id, { ...copy(r), nextAttemptAt: new Date(r.nextAttemptAt).toISOString() })
    },
    async claimDeliveries(now, leaseMs, limit) {
      const at = time(now)
      const due = [...deliveries.values()]
        .filter((d) => d.status === 'pending' && time(d.nextAttemptAt) <= at)
        .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt) || a.createdAt.localeCompare(b.createdAt))
        .slice(0, limit)
      for (const d of due) d.nextAttemptAt = new Date(at + leaseMs).toISOString()
      return copy(due.sort((a, b) => a.createdAt.localeCompare(b.createdAt)))
    },
    async updateDelivery(id, patch) {
      const delivery = deliveries.get(id)
      if (!delivery) return false
      const normal = { ...patch }
      if (normal.nextAttemptAt) normal.nextAttemptAt = new Date(normal.nextAttemptAt).toISOString()
      if (normal.deliveredAt) normal.deliveredAt = new Date(normal.deliveredAt).toISOString()
      applyPatch(delivery, normal)
      return true
    },
    async listDeliveries(accountId, options = {}) {
      return copy(
        [...deliveries.values()]
          .filter((d) => d.accountId === accountId && (!options.channelId || d.channelId === options.channelId))
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))
          .slice(0, options.limit ?? 50),
      )
    },
  }
}

