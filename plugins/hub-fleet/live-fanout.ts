// Live views across hubs: the `fleet:live` events one hub process emits reach the dashboards of every
// other hub on the same PostgreSQL through store notifications, batched a few times a second. Node
// metrics, the bulk of them, travel only for accounts some other hub has a dashboard open for.
import { randomBytes } from 'node:crypto'
import type { EventBus, Logger, ThreshEvents } from '../../core/index.ts'
import type { StoreNotifications } from '../../lib/storage/notifications.ts'
import type { FleetLiveEvent } from './live-events.ts'

const EVENTS_CHANNEL = 'fleet-live'
const WATCH_CHANNEL = 'fleet-live-watch'

export interface LiveFanoutOptions {
  bus: Pick<EventBus<ThreshEvents>, 'on' | 'emit'>
  notifications: StoreNotifications
  /** Accounts with a dashboard open on this hub now. */
  watchedAccounts(): Iterable<string>
  logger: Pick<Logger, 'warn'>
  /** Longest an event waits to be sent with others (default 100 ms). */
  batchMs?: number
  /** How often a hub says which accounts it watches (default 5 s); a claim lapses after three of these. */
  watchMs?: number
}

interface EventsMessage {
  origin: string
  events: FleetLiveEvent[]
}
interface WatchMessage {
  origin: string
  accounts: string[]
}

/** Starts the fan-out; a no-op where the store is one process's alone (memory, embedded). */
export async function startLiveFanout(options: LiveFanoutOptions): Promise<{ close(): Promise<void> }> {
  const { bus, notifications, logger } = options
  if (!notifications.shared) return { close: async () => {} }
  const origin = randomBytes(8).toString('hex')
  const batchMs = options.batchMs ?? 100
  const watchMs = options.watchMs ?? 5000
  // Events this hub re-emitted for its own dashboards: never sent back out.
  const relayed = new WeakSet<FleetLiveEvent>()
  /** Account -> hub -> until when that hub has a dashboard of it open. */
  const remoteWatch = new Map<string, Map<string, number>>()
  let pending: FleetLiveEvent[] = []
  // The newest metrics of each node replace older ones still waiting: a dashboard draws only the last.
  const pendingMetrics = new Map<string, FleetLiveEvent>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false

  const watchedElsewhere = (accountId: string) => {
    const hubs = remoteWatch.get(accountId)
    if (!hubs) return false
    const now = Date.now()
    for (const [hub, until] of hubs) if (until < now) hubs.delete(hub)
    if (hubs.size === 0) remoteWatch.delete(accountId)
    return hubs.size > 0
  }

  const send = (channel: string, message: EventsMessage | WatchMessage) =>
    notifications.publish(channel, JSON.stringify(message)).catch((error) => logger.warn(`Sending live events to the other hubs failed: ${(error as Error).message}`))

  const flush = () => {
    timer = undefined
    const events = [...pending, ...pendingMetrics.values()]
    pending = []
    pendingMetrics.clear()
    if (events.length && !closed) void send(EVENTS_CHANNEL, { origin, events })
  }

  const offLocal = bus.on('fleet:live', (event) => {
    if (relayed.has(event) || closed) return
    if (event.target === 'NodeMetrics') {
      if (!watchedElsewhere(event.accountId)) return
      pendingMetrics.set(`${event.accountId}/${String(event.args[0].agentId)}`, event)
    } else pending.push(event)
    timer ??= setTimeout(flush, batchMs)
  })

  const unlistenEvents = await notifications.listen(EVENTS_CHANNEL, (payload) => {
    const message = parse<EventsMessage>(payload)
    if (!message || message.origin === origin || !Array.isArray(message.events)) return
    for (const event of message.events) {
      relayed.add(event)
      bus.emit('fleet:live', event)
    }
  })

  let lastClaim = ''
  const claim = (force: boolean) => {
    const accounts = [...new Set(options.watchedAccounts())].sort()
    const key = accounts.join(',')
    if (closed || (!force && key === lastClaim) || (accounts.length === 0 && lastClaim === '')) return
    lastClaim = key
    void send(WATCH_CHANNEL, { origin, accounts })
  }
  const unlistenWatch = await notifications.listen(
    WATCH_CHANNEL,
    (payload) => {
      const message = parse<WatchMessage>(payload)
      if (!message || message.origin === origin || !Array.isArray(message.accounts)) return
      const until = Date.now() + 3 * watchMs
      for (const hubs of remoteWatch.values()) hubs.delete(message.origin)
      for (const account of message.accounts) {
        const hubs = remoteWatch.get(account) ?? new Map<string, number>()
        remoteWatch.set(account, hubs.set(message.origin, until))
      }
    },
    // After a lost connection the others may have forgotten us: say it again.
    { onReady: () => claim(true) },
  )
  // A new dashboard shows up within a second; the claim is renewed every watchMs while it stays.
  let ticks = 0
  const watchTimer = setInterval(() => claim(++ticks % Math.max(1, Math.round(watchMs / 1000)) === 0), Math.min(1000, watchMs))
  ;(watchTimer as { unref?: () => void }).unref?.()

  return {
    async close() {
      closed = true
      offLocal()
      clearInterval(watchTimer)
      if (timer) clearTimeout(timer)
      await Promise.all([unlistenEvents(), unlistenWatch()])
    },
  }
}

function parse<T>(payload: string): T | undefined {
  try {
    return JSON.parse(payload) as T
  } catch {
    return undefined
  }
}
