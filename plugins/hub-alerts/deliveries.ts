// The delivery queue's worker: notifications are queued in storage (so a hub restart loses none),
// leased one sender at a time, retried with exponential backoff, and each channel's last attempts and
// health kept on it. Deliveries go out independently, so a channel that hangs or fails blocks no other.
import { randomUUID } from 'node:crypto'
import type { Logger } from '../../core/index.ts'
import type { AlertChannelRecord, DeliveryAttempt, DeliveryRecord, FleetStore } from '../../lib/storage/index.ts'
import { send as sendThrough } from './senders.ts'
import type { Notification } from './templates.ts'

export interface DeliveryOptions {
  store: FleetStore
  logger: Logger
  /** How often the queue is looked at (default 1 s); an enqueue looks at once. */
  pollMs: number
  /** Attempts before a delivery is given up (failed). */
  maxAttempts: number
  /** The first retry's wait; each later one doubles, up to 10 minutes. */
  backoffMs: number
  /** Consecutive failures after which a channel is marked failing. */
  failingAfter: number
  timeoutMs: number
  send?: (channel: AlertChannelRecord, n: Notification, timeoutMs: number) => Promise<string>
}

export interface DeliveryOutcome {
  ok: boolean
  detail: string
}

const LAST_ATTEMPTS = 10
/** Calls out at once, across all channels. */
const MAX_IN_FLIGHT = 50

export function createDeliveryWorker(options: DeliveryOptions) {
  const { store, logger } = options
  const send = options.send ?? sendThrough
  const waiters = new Map<string, (outcome: DeliveryOutcome) => void>()
  const leaseMs = Math.max(options.timeoutMs * 2, 30_000)
  let timer: ReturnType<typeof setInterval> | undefined
  let pumping: Promise<void> | undefined
  let again = false
  let closed = false
  // A channel's attempts are recorded one at a time: two failures at once must not lose a count.
  const channelLocks = new Map<string, Promise<void>>()
  const onChannel = (id: string, fn: () => Promise<void>) => {
    const next = (channelLocks.get(id) ?? Promise.resolve()).then(fn, fn)
    channelLocks.set(id, next)
    return next.finally(() => {
      if (channelLocks.get(id) === next) channelLocks.delete(id)
    })
  }

  const recordAttempt = (delivery: DeliveryRecord, attempt: DeliveryAttempt) =>
    onChannel(delivery.channelId, async () => {
      const channel = await store.getAlertChannel(delivery.accountId, delivery.channelId)
      if (!channel) return
      const failures = attempt.ok ? 0 : channel.failures + 1
      await store.updateAlertChannel(delivery.accountId, channel.id, {
        failures,
        status: failures >= options.failingAfter ? 'failing' : 'ok',
        lastAttempts: [attempt, ...channel.lastAttempts].slice(0, LAST_ATTEMPTS),
      })
    })

  const deliver = async (delivery: DeliveryRecord) => {
    const attempts = delivery.attempts + 1
    const channel = await store.getAlertChannel(delivery.accountId, delivery.channelId)
    let outcome: DeliveryOutcome
    if (!channel) {
      outcome = { ok: false, detail: 'The channel was deleted.' }
      await store.updateDelivery(delivery.id, { status: 'failed', attempts, lastError: outcome.detail })
    } else {
      try {
        const detail = await send(channel, { ...(delivery.payload as unknown as Notification), sentAt: new Date().toISOString() }, options.timeoutMs)
        outcome = { ok: true, detail }
        await store.updateDelivery(delivery.id, { status: 'delivered', attempts, deliveredAt: new Date().toISOString() })
      } catch (error) {
        outcome = { ok: false, detail: String((error as Error).message ?? error).slice(0, 300) }
        // A test is tried once: the person pressing the button is waiting for the answer.
        const last = delivery.event === 'test' || attempts >= options.maxAttempts
        const wait = Math.min(600_000, options.backoffMs * 2 ** (attempts - 1))
        await store.updateDelivery(delivery.id, {
          status: last ? 'failed' : 'pending',
          attempts,
          lastError: outcome.detail,
          nextAttemptAt: new Date(Date.now() + wait).toISOString(),
        })
        if (!last) logger.debug(`Delivery ${delivery.id} through channel ${channel.name} failed (${outcome.detail}); retrying in ${wait} ms.`)
        else logger.warn(`Giving up delivery ${delivery.id} through channel ${channel.name} after ${attempts} attempts: ${outcome.detail}`)
      }
      await recordAttempt(delivery, { at: new Date().toISOString(), ok: outcome.ok, detail: outcome.detail, deliveryId: delivery.id })
    }
    waiters.get(delivery.id)?.(outcome)
    waiters.delete(delivery.id)
  }

  // Each delivery runs on its own: the queue is read again while calls are out, so an endpoint that
  // hangs until the timeout holds one slot, not the notifications queued behind it.
  const inFlight = new Set<Promise<void>>()
  const pumpOnce = async () => {
    do {
      again = false
      const room = MAX_IN_FLIGHT - inFlight.size
      if (room <= 0) return
      const due = await store.claimDeliveries(new Date().toISOString(), leaseMs, room)
      for (const d of due) {
        const running: Promise<void> = deliver(d)
          .catch((e) => logger.warn(`Delivering ${d.id} failed: ${(e as Error).message}`))
          .finally(() => {
            inFlight.delete(running)
            // A slot is free: whatever waited for one goes now.
            if (!closed) void pump()
          })
        inFlight.add(running)
      }
      if (due.length === room) again = true
    } while (again && !closed)
  }
  const pump = () => {
    if (closed) return Promise.resolve()
    if (pumping) {
      again = true
      return pumping
    }
    pumping = pumpOnce()
      .catch((e) => logger.warn(`Reading the delivery queue failed: ${(e as Error).message}`))
      .finally(() => {
        pumping = undefined
      })
    return pumping
  }

  const enqueue = async (accountId: string, channelIds: string[], notification: Notification, alertId?: string): Promise<string[]> => {
    const now = new Date().toISOString()
    const records: DeliveryRecord[] = channelIds.map((channelId) => ({
      id: `dlv_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
      accountId,
      channelId,
      ...(alertId ? { alertId } : {}),
      event: notification.event,
      payload: notification as unknown as Record<string, unknown>,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
    }))
    await store.enqueueDeliveries(records)
    void pump()
    return records.map((r) => r.id)
  }

  return {
    enqueue,
    /** Sends a test through one channel now and answers with how it went. */
    async test(accountId: string, channelId: string): Promise<DeliveryOutcome> {
      const [id] = await enqueue(accountId, [channelId], { event: 'test', accountId })
      return new Promise<DeliveryOutcome>((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(id!)
          resolve({ ok: false, detail: 'The test is still queued; look at the channel’s last attempts.' })
        }, options.timeoutMs + 5000)
        waiters.set(id!, (outcome) => {
          clearTimeout(timer)
          resolve(outcome)
        })
      })
    },
    start() {
      timer = setInterval(() => void pump(), options.pollMs)
      ;(timer as { unref?: () => void }).unref?.()
      void pump()
    },
    async close() {
      closed = true
      if (timer) clearInterval(timer)
      await pumping
      await Promise.all(inFlight)
    },
  }
}
