// Evaluates the enabled alert rules every interval: each rule's observations per subject go through a
// small state machine — fire once the condition held for the rule's duration, resolve once it has been
// clearly over (hysteresis) for the clear window — so each alert fires and resolves once, no storms.
import { randomUUID } from 'node:crypto'
import type { Logger } from '../../core/index.ts'
import type { AlertRecord, AlertRuleRecord, EventInput, FleetStore, SilenceRecord } from '../../lib/storage/index.ts'
import { observe, type AccountView, type CertificateInfo, type FleetState, type Observation } from './conditions.ts'

interface Track {
  pendingSince?: number
  clearSince?: number
  alert?: AlertRecord
}

export interface EvaluatorOptions {
  store: FleetStore
  fleet: FleetState
  logger: Logger
  /** Records alert_firing / alert_resolved in the event log. */
  record(accountId: string, event: EventInput): void
  /** Queues the notifications of a firing or resolved alert. */
  notify(rule: AlertRuleRecord, alert: AlertRecord, event: 'firing' | 'resolved'): Promise<void>
  certificates?: () => CertificateInfo[]
}

const SEVERITY: Record<string, AlertRecord['severity']> = {
  node_offline: 'critical',
  midtier_disconnected: 'critical',
  container_stopped: 'warning',
  container_unhealthy: 'warning',
  container_restarting: 'critical',
  cpu: 'warning',
  memory: 'warning',
  disk: 'warning',
  cert_expiring: 'warning',
}

/** How long a condition must hold before it fires: already counted by the observation for some kinds. */
const fireAfter = (rule: AlertRuleRecord) => (rule.kind === 'node_offline' || rule.kind === 'container_restarting' || rule.kind === 'cert_expiring' ? 0 : rule.durationMs)
/** How long it must be clearly over before it resolves: measured values wait, discrete states do not. */
const clearAfter = (rule: AlertRuleRecord) => (rule.kind === 'cpu' || rule.kind === 'memory' || rule.kind === 'disk' ? Math.min(rule.durationMs, 60_000) : 0)

export function silencedBy(silences: SilenceRecord[], rule: AlertRuleRecord, obs: { subject: string; names: string[] }, now: number): SilenceRecord | undefined {
  return silences.find(
    (s) => Date.parse(s.endsAt) > now && (!s.ruleId || s.ruleId === rule.id) && (!s.subject || s.subject === obs.subject || obs.names.includes(s.subject)),
  )
}

export function createEvaluator(options: EvaluatorOptions) {
  const { store, logger } = options
  const tracks = new Map<string, Track>()
  const keyOf = (ruleId: string, subject: string) => `${ruleId}\u0000${subject}`
  let running = false

  const fire = async (rule: AlertRuleRecord, obs: Observation, silences: SilenceRecord[], now: number, track: Track) => {
    const silence = silencedBy(silences, rule, obs, now)
    const message = obs.message()
    const details = obs.details()
    const alert = await store.openAlert({
      id: `alr_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
      accountId: rule.accountId,
      ruleId: rule.id,
      ruleName: rule.name,
      kind: rule.kind,
      subject: obs.subject,
      state: 'firing',
      severity: SEVERITY[rule.kind] ?? 'warning',
      message,
      details,
      startedAt: new Date(now).toISOString(),
      silenced: Boolean(silence),
    })
    if (!alert) return // another hub on this database fired it
    track.alert = alert
    options.record(rule.accountId, {
      at: alert.startedAt,
      kind: 'alert_firing',
      severity: alert.severity,
      ...(typeof details.nodeId === 'string' ? { nodeId: details.nodeId } : {}),
      ...(typeof details.stack === 'string' ? { stack: details.stack } : {}),
      message: `${rule.name}: ${message}${silence ? ' (silenced)' : ''}`,
      details: { alertId: alert.id, ruleId: rule.id, subject: obs.subject, silenced: Boolean(silence) },
    })
    if (!silence) await options.notify(rule, alert, 'firing')
  }

  const resolve = async (rule: AlertRuleRecord | undefined, track: Track, now: number) => {
    const alert = track.alert!
    track.alert = undefined
    if (!(await store.resolveAlert(alert.accountId, alert.id, new Date(now).toISOString()))) return
    const resolved: AlertRecord = { ...alert, state: 'resolved', resolvedAt: new Date(now).toISOString() }
    options.record(alert.accountId, {
      at: resolved.resolvedAt!,
      kind: 'alert_resolved',
      severity: 'info',
      ...(typeof alert.details?.nodeId === 'string' ? { nodeId: alert.details.nodeId } : {}),
      ...(typeof alert.details?.stack === 'string' ? { stack: alert.details.stack } : {}),
      message: `${alert.ruleName}: resolved (${alert.message})`,
      details: { alertId: alert.id, ruleId: alert.ruleId, subject: alert.subject },
    })
    // A silenced alert stays quiet when it resolves too.
    if (rule && !alert.silenced) await options.notify(rule, resolved, 'resolved')
  }

  const unsilence = async (rule: AlertRuleRecord, track: Track) => {
    const alert = track.alert!
    if (!(await store.unsilenceAlert(alert.accountId, alert.id))) return
    track.alert = { ...alert, silenced: false }
    await options.notify(rule, track.alert, 'firing')
  }

  // Most observations change nothing (no alert, condition not met): those return without a promise.
  const step = (rule: AlertRuleRecord, obs: Observation, silences: SilenceRecord[], now: number): Promise<void> | undefined => {
    const key = keyOf(rule.id, obs.subject)
    if (!tracks.has(key) && !obs.active) return undefined
    return advance(key, rule, obs, silences, now)
  }

  const advance = async (key: string, rule: AlertRuleRecord, obs: Observation, silences: SilenceRecord[], now: number) => {
    let track = tracks.get(key)
    if (!track) tracks.set(key, (track = {}))
    if (!track.alert) {
      if (!obs.active) {
        tracks.delete(key)
        return
      }
      track.pendingSince ??= Math.min(now, obs.since ?? now)
      if (now - track.pendingSince >= fireAfter(rule)) await fire(rule, obs, silences, now, track)
      return
    }
    if (!obs.clear) {
      track.clearSince = undefined
      // Its silence ended while it still fires: now it is told, once.
      if (track.alert.silenced && !silencedBy(silences, rule, obs, now)) await unsilence(rule, track)
      return
    }
    track.clearSince ??= now
    if (now - track.clearSince >= clearAfter(rule)) {
      await resolve(rule, track, now)
      tracks.delete(key)
    }
  }

  return {
    /** Picks up the alerts that were firing before a restart, so they are not fired again. */
    async restore() {
      for (const alert of await store.listFiringAlerts()) tracks.set(keyOf(alert.ruleId, alert.subject), { alert })
    },

    /** One evaluation of every enabled rule; returns how many observations it made. */
    async tick(now = Date.now()): Promise<number> {
      if (running) return 0
      running = true
      let observed = 0
      try {
        const rules = await store.listEnabledAlertRules()
        const byAccount = new Map<string, AlertRuleRecord[]>()
        for (const rule of rules) {
          let list = byAccount.get(rule.accountId)
          if (!list) byAccount.set(rule.accountId, (list = []))
          list.push(rule)
        }
        const certificates = options.certificates?.() ?? []
        const live = new Set<string>()
        for (const [accountId, accountRules] of byAccount) {
          const view: AccountView = { nodes: await store.listNodes(accountId) }
          if (accountRules.some((r) => r.scopeType === 'cluster')) view.clusters = await store.listClusters(accountId)
          if (accountRules.some((r) => r.scopeType === 'stack')) view.stacks = await store.listStacks(accountId)
          const silences = await store.listSilences(accountId)
          const nodeIds = new Set(view.nodes.map((n) => n.id))
          for (const rule of accountRules) {
            live.add(rule.id)
            for (const obs of observe(rule, accountId, view, options.fleet, now, certificates)) {
              observed++
              const work = step(rule, obs, silences, now)
              if (work) await work
            }
          }
          // A firing alert about a node that is gone resolves; others keep their state until observed.
          for (const [key, track] of tracks) {
            if (!track.alert || track.alert.accountId !== accountId || !track.alert.subject.startsWith('node:') || nodeIds.has(track.alert.subject.slice(5))) continue
            await resolve(accountRules.find((r) => r.id === track.alert!.ruleId), track, now)
            tracks.delete(key)
          }
        }
        // Rules deleted or disabled: their alerts resolve quietly.
        for (const [key, track] of tracks) {
          const ruleId = key.slice(0, key.indexOf('\u0000'))
          if (live.has(ruleId)) continue
          if (track.alert) await resolve(undefined, track, now)
          tracks.delete(key)
        }
      } catch (error) {
        logger.warn(`Evaluating alert rules failed: ${(error as Error).message}`)
      } finally {
        running = false
      }
      return observed
    },
    get tracked() {
      return tracks.size
    },
  }
}
