// events: what happened in the fleet, newest first (nodes, mid-tiers, containers, stacks, keys, alerts).
import { ThreshError } from '../../../core/index.ts'
import { arr, int, obj, str } from '../schema.ts'
import { limit, ok, time } from './params.ts'
import type { EventRecord } from '../../../lib/storage/index.ts'
import type { RouteDef, Services } from './route-def.ts'

export const eventSchema = obj({
  id: str(),
  at: str({ format: 'date-time' }),
  kind: str({ description: 'node_online, node_reconnect, node_offline, node_removed, midtier_connected, midtier_disconnected, container_start, container_die, container_oom, container_health, container_restart_loop, stack_deployed, stack_updated, stack_rollback, stack_failed, stack_destroyed, key_revoked, alert_firing, alert_resolved' }),
  severity: str({ enum: ['info', 'warning', 'critical'] }),
  nodeId: str(),
  stack: str(),
  message: str(),
  details: { type: 'object', additionalProperties: true },
})

/** The alerts service, or a 503 on a hub that runs without the hub-alerts plugin. */
export function alertsOf(services: Services) {
  if (!services.alerts) throw new ThreshError({ code: 'alerts_unavailable', status: 503, plugin: 'hub-api', message: 'This hub runs without the hub-alerts plugin.' })
  return services.alerts
}

interface EventFilter {
  nodeId?: string
  stack?: string
  kinds?: string[]
}

async function eventFilter(accountId: string, query: Record<string, string | undefined>, services: Services): Promise<EventFilter> {
  let nodeId: string | undefined
  if (query.node) {
    const node = await services.fleet.getNode(accountId, query.node).catch(() => undefined)
    nodeId = (node as { id?: string } | undefined)?.id ?? query.node
  }
  return {
    ...(nodeId ? { nodeId } : {}),
    ...(query.stack ? { stack: query.stack } : {}),
    ...(query.kind ? { kinds: query.kind.split(',').map((k) => k.trim()).filter(Boolean) } : {}),
  }
}

const matches = (e: EventRecord, f: EventFilter) =>
  (f.nodeId === undefined || e.nodeId === f.nodeId) && (f.stack === undefined || e.stack === f.stack) && (!f.kinds?.length || f.kinds.includes(e.kind))

function checkCursors(query: Record<string, string | undefined>) {
  for (const name of ['before', 'after'] as const) {
    if (query[name] !== undefined && !/^[0-9]{1,19}$/.test(query[name]!)) throw new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message: `${name} must be an event id.` })
  }
}

/** A reader that stops reading gets its stream closed past this many unsent events, rather than hub memory. */
const FOLLOW_BACKLOG = 10_000
const KEEP_ALIVE_MS = 15_000

/**
 * NDJSON of the account's events oldest first: those after `after` from the log, then each one as it is
 * stored. Every wake-up (an event stored by this hub, or by another hub on the same PostgreSQL, relayed)
 * reads the log after the last id sent, so events from several hubs come out once each and in id order.
 */
function followStream(accountId: string, filter: EventFilter, after: string | undefined, services: Services, signal: AbortSignal): Response {
  const alerts = alertsOf(services)
  const encoder = new TextEncoder()
  let last = after
  let closed = false
  let stop = () => {}
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const end = (error: string) => {
        stop()
        controller.enqueue(encoder.encode(JSON.stringify({ end: true, error }) + '\n'))
        controller.close()
      }
      let pulling: Promise<void> | undefined
      let again = false
      const readLog = async () => {
        do {
          again = false
          for (;;) {
            const page = await alerts.listEvents(accountId, { ...filter, after: last ?? '0', limit: 1000 })
            if (closed) return
            if (page.length === 0) break
            last = page.at(-1)!.id
            const fresh = page.filter((e) => matches(e, filter))
            if ((controller.desiredSize ?? 0) < -FOLLOW_BACKLOG) return end('The client read too slowly; follow again from the last id.')
            if (fresh.length > 0) controller.enqueue(encoder.encode(fresh.map((e) => JSON.stringify(e)).join('\n') + '\n'))
            if (page.length < 1000) break
          }
        } while (again && !closed)
      }
      // One read at a time; a wake-up during a read makes it read once more.
      const wake = () => {
        if (closed) return
        if (pulling) {
          again = true
          return
        }
        pulling = readLog()
          .catch(() => {})
          .finally(() => (pulling = undefined))
      }
      const unfollow = alerts.followEvents(accountId, wake)
      // Blank lines keep proxies from closing a quiet stream; readers skip them.
      const keepAlive = setInterval(() => controller.enqueue(encoder.encode('\n')), KEEP_ALIVE_MS)
      ;(keepAlive as { unref?: () => void }).unref?.()
      stop = () => {
        closed = true
        unfollow()
        clearInterval(keepAlive)
      }
      signal.addEventListener('abort', () => stop(), { once: true })
      // Without a cursor, following starts after the newest stored event.
      if (last === undefined) last = (await alerts.listEvents(accountId, { limit: 1 }))[0]?.id ?? '0'
      wake()
    },
    cancel() {
      stop()
    },
  })
  return new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } })
}

const EVENT_ID = '^[0-9]{1,19}$'
/** What both event routes filter by; `after` is the last event id already seen. */
const FILTER_QUERY = {
  node: str(),
  stack: str(),
  kind: str({ description: 'comma-separated kinds' }),
  after: str({ pattern: EVENT_ID }),
}

export const eventRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/events',
    summary: 'Fleet events, newest first',
    description:
      'Paged with `before` (the last id of the previous page); `after` returns newer events oldest first, for following. `node` takes a node id or host name.',
    tag: 'events',
    scope: 'cli',
    role: 'viewer',
    query: {
      ...FILTER_QUERY,
      since: str({ description: 'ISO-8601 time or epoch ms' }),
      before: str({ pattern: EVENT_ID }),
      limit: int({ minimum: 1, maximum: 1000 }),
    },
    status: 200,
    response: obj({ events: arr(eventSchema), next: str({ nullable: true, description: 'the `before` of the next page' }) }),
    async handle({ principal, query, services }) {
      const accountId = principal!.accountId
      checkCursors(query)
      const max = limit(query.limit)
      const events = await alertsOf(services).listEvents(accountId, {
        ...(await eventFilter(accountId, query, services)),
        ...(query.since ? { since: time(query.since, 'since', new Date(0)).toISOString() } : {}),
        ...(query.before ? { before: query.before } : {}),
        ...(query.after ? { after: query.after } : {}),
        limit: max,
      })
      const next = query.after === undefined && events.length === max ? events.at(-1)!.id : null
      return ok({ events, next })
    },
  },
  {
    method: 'get',
    path: '/api/events/stream',
    summary: 'Fleet events as they are recorded (NDJSON, stays open)',
    description:
      'One event a line, oldest first: those after `after` (an event id) from the log, then each new one as it is stored; without `after`, only new ones. Blank lines are keep-alives. `thresh events -f` reads it.',
    tag: 'events',
    scope: 'cli',
    role: 'viewer',
    query: FILTER_QUERY,
    status: 200,
    response: eventSchema,
    async handle({ principal, query, services, request }) {
      const accountId = principal!.accountId
      checkCursors(query)
      alertsOf(services)
      const filter = await eventFilter(accountId, query, services)
      return { status: 200, body: undefined, response: followStream(accountId, filter, query.after, services, request.signal) }
    },
  },
]
