// The hub-alerts plugin: records the fleet's events (with retention), evaluates alert rules, and
// delivers notifications through webhook and e-mail channels from a queue kept in storage. Provides
// `alerts`, which the REST API (routes/alerts.ts, routes/events.ts) and the dashboard drive.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineFields, definePlugin } from '../../core/index.ts'
import '../../lib/storage/index.ts'
import type {} from '../hub-fleet/index.ts'
import type { CertificateInfo } from './conditions.ts'
import { createFleetState } from './conditions.ts'
import { createDeliveryWorker } from './deliveries.ts'
import { createEvaluator } from './evaluator.ts'
import { createEventRecorder } from './recorder.ts'
import { createAlertsService, type AlertsService } from './service.ts'
import { notificationOf } from './templates.ts'

export type { AlertsService, ChannelInput, ChannelView, RuleInput } from './service.ts'
export { RULE_KINDS, SCOPE_TYPES } from './service.ts'
export { SIGNATURE_HEADER, signature } from './senders.ts'
export { createEvaluator } from './evaluator.ts'
export { createFleetState } from './conditions.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    alerts: AlertsService
  }
}

export interface HubAlertsOptions {
  /** How often the delivery queue is read, ms (default 1000). */
  deliveryPollMs?: number
  /** Longest one webhook call or SMTP conversation may take, ms (default 10 s). */
  deliveryTimeoutMs?: number
}

export const hubAlertsFields = defineFields({
  eventRetention: { type: 'duration', description: 'how long fleet events are kept', default: 30 * 86_400_000, min: 60_000 },
  alertInterval: { type: 'duration', description: 'how often alert rules are evaluated', default: 10_000, min: 100 },
  deliveryAttempts: { type: 'number', description: 'attempts per notification before it is given up', default: 8, min: 1, max: 100 },
  deliveryBackoff: { type: 'duration', description: "the first retry's wait; each later one doubles (up to 10 minutes)", default: 10_000, min: 10 },
  channelFailingAfter: { type: 'number', description: 'consecutive failed deliveries after which a channel is marked failing', default: 3, min: 1 },
})

export default definePlugin((options: HubAlertsOptions = {}) => ({
  name: 'hub-alerts',
  requires: ['storage', 'fleet'],
  provides: ['alerts'],
  config: hubAlertsFields,
  setup(ctx) {
    const { settings } = ctx
    const store = ctx.use('storage')
    const recorder = createEventRecorder(store, ctx.bus, ctx.logger)
    const fleet = createFleetState()
    const offObserve = recorder.onEvent((accountId, event) => fleet.observe(accountId, event))
    const worker = createDeliveryWorker({
      store,
      logger: ctx.logger,
      pollMs: options.deliveryPollMs ?? 1000,
      maxAttempts: settings.deliveryAttempts,
      backoffMs: settings.deliveryBackoff,
      failingAfter: settings.channelFailingAfter,
      timeoutMs: options.deliveryTimeoutMs ?? 10_000,
    })

    // The hub's own certificate (configured or generated); read again each evaluation, it may be renewed.
    const tls = ctx.config.tls
    const certPath = tls.enabled ? (tls.cert ?? join(ctx.dataDir, 'tls', 'cert.pem')) : undefined
    const certificates = (): CertificateInfo[] => {
      if (!certPath) return []
      const out: CertificateInfo[] = []
      // The hub's serving certificate (the first of its chain) and, when it has one, the fleet CA that signs it.
      for (const [subject, name, path] of [['cert:hub', 'hub', certPath], ['cert:fleet-ca', 'fleet CA', join(ctx.dataDir, 'tls', 'ca.pem')]] as const) {
        try {
          out.push({ subject, name, notAfter: Date.parse(new X509Certificate(readFileSync(path)).validTo) })
        } catch {
          // Not there (plain HTTP behind a proxy, configured files elsewhere): nothing to watch.
        }
      }
      return out
    }

    const evaluator = createEvaluator({
      store,
      fleet,
      logger: ctx.logger,
      certificates,
      record: (accountId, event) => recorder.add(accountId, event),
      async notify(rule, alert, event) {
        if (rule.channelIds.length === 0) return
        await worker.enqueue(alert.accountId, rule.channelIds, notificationOf(event, alert), alert.id)
      },
    })
    // Followers wake on the bus's FleetEvent: this hub's stored events and those other hubs relay (live-fanout).
    const onStored = (listener: (accountId: string) => void) => ctx.bus.on('fleet:live', (e) => e.target === 'FleetEvent' && listener(e.accountId))
    ctx.provide('alerts', createAlertsService(store, (accountId, channelId) => worker.test(accountId, channelId), onStored))
    // The dashboards' live timeline: each stored event over their live channel (/dashboardhub, /ui/events).
    const offLive = recorder.onStored((accountId, events) => {
      for (const event of events) ctx.bus.emit('fleet:live', { accountId, target: 'FleetEvent', args: [event as unknown as Record<string, unknown>] })
    })

    ctx.metrics.gauge('hub_alerts_tracked', 'Alert conditions being watched or firing.', () => evaluator.tracked)
    let evaluateTimer: ReturnType<typeof setInterval> | undefined
    let pruneTimer: ReturnType<typeof setInterval> | undefined
    const offReady = ctx.hooks.hook('app:ready', async () => {
      await evaluator.restore()
      worker.start()
      evaluateTimer = setInterval(() => void evaluator.tick(), settings.alertInterval)
      const prune = () =>
        void store.pruneEvents(new Date(Date.now() - settings.eventRetention).toISOString()).catch((e) => ctx.logger.warn(`Pruning old events failed: ${(e as Error).message}`))
      pruneTimer = setInterval(prune, Math.min(3_600_000, Math.max(1000, settings.eventRetention / 10)))
      for (const timer of [evaluateTimer, pruneTimer]) (timer as { unref?: () => void }).unref?.()
      prune()
    })
    return async () => {
      offReady()
      if (evaluateTimer) clearInterval(evaluateTimer)
      if (pruneTimer) clearInterval(pruneTimer)
      offObserve()
      await worker.close()
      await recorder.close()
      offLive()
    }
  },
}))
