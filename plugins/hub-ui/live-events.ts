// The dashboard's fallback live channel where a WebSocket to `/dashboardhub` cannot be opened (a proxy
// that refuses upgrades): server-sent events at `/ui/events` carrying the same `fleet:live` events the
// hub-fleet plugin shapes, each a JSON `{target, arguments}` message like a SignalR invocation.
import type { Hono } from 'hono'
import type { Logger, ThreshEvents } from '../../core/index.ts'
import type {} from '../hub-fleet/live-events.ts'

interface LivePrincipal {
  accountId: string
}
interface LiveAuth {
  authenticate(bearer: string | undefined, scope: 'cli'): Promise<LivePrincipal>
  sessionIsActive?(principal: LivePrincipal): Promise<boolean>
}
type Unsubscribe = () => void

export interface LiveEventsOptions {
  app: Hono
  /** Looks a service up by name, or returns undefined when the role has none. */
  service(name: string): unknown
  /** Subscribes to the fleet's live events (the bus). */
  subscribe(fn: (event: ThreshEvents['fleet:live']) => void): Unsubscribe
  logger: Logger
  keepAliveMs?: number
  /** Most events queued for one slow browser before it is disconnected (it reconnects and refetches). */
  maxQueued?: number
}

const encoder = new TextEncoder()

export function mountLiveEvents(options: LiveEventsOptions): { close(): void; readonly connections: number } {
  const keepAliveMs = options.keepAliveMs ?? 15_000
  const maxQueued = options.maxQueued ?? 5000
  const streams = new Set<{ account: string; send(frame: Uint8Array): void; close(): void }>()
  const detach = options.subscribe((event) => {
    if (streams.size === 0) return
    let frame: Uint8Array | undefined
    for (const s of streams) {
      if (s.account !== event.accountId) continue
      // Serialised once per event, however many browsers of that account are watching.
      frame ??= encoder.encode(`data: ${JSON.stringify({ target: event.target, arguments: event.args })}\n\n`)
      s.send(frame)
    }
  })

  options.app.get('/ui/events', async (c) => {
    const auth = options.service('auth') as LiveAuth | undefined
    if (!auth || !options.service('fleet')) return c.json({ error: 'live_unavailable', message: 'This hub has no live fleet events; the dashboard refreshes by polling.' }, 503)
    const header = c.req.header('authorization')
    const token = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : c.req.query('access_token')
    let principal: LivePrincipal
    try {
      principal = await auth.authenticate(token, 'cli')
    } catch (error) {
      const status = (error as { status?: number }).status === 403 ? 403 : 401
      return c.json({ error: status === 403 ? 'forbidden' : 'unauthorized', message: (error as Error).message }, status)
    }

    let controller: ReadableStreamDefaultController<Uint8Array>
    let timer: ReturnType<typeof setInterval> | undefined
    const entry = {
      account: principal.accountId,
      send(frame: Uint8Array) {
        // desiredSize goes negative by the number of chunks the browser has not read yet.
        if ((controller.desiredSize ?? 0) < -maxQueued) return entry.close()
        try {
          controller.enqueue(frame)
        } catch {
          entry.close()
        }
      },
      close() {
        if (!streams.delete(entry)) return
        clearInterval(timer)
        try {
          controller.close()
        } catch {
          // Already closed by the browser going away.
        }
      },
    }
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        controller = ctrl
        streams.add(entry)
        ctrl.enqueue(encoder.encode(`retry: 2000\ndata: {"target":"ready","arguments":[]}\n\n`))
        timer = setInterval(() => {
          try {
            ctrl.enqueue(encoder.encode(': keep-alive\n\n'))
          } catch {
            entry.close()
          }
          // A session that ended (logout, expiry, password change) stops receiving the fleet's events.
          void auth.sessionIsActive?.(principal).then((active) => active || entry.close(), () => {})
        }, keepAliveMs)
      },
      cancel() {
        entry.close()
      },
    })
    c.req.raw.signal?.addEventListener('abort', () => entry.close())
    return new Response(body, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    })
  })

  return {
    close() {
      detach()
      for (const s of [...streams]) s.close()
    },
    get connections() {
      return streams.size
    },
  }
}
