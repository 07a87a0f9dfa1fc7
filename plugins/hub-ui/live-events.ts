// The dashboard's live channel while the hub has no `/dashboardhub`: server-sent events at
// `/ui/events` built only from public services (`auth` to check the session, `agent-gateway` events),
// each a JSON `{target, arguments}` message shaped like a SignalR invocation (`NodeMetrics`, `NodeRegistered`...).
import type { Hono } from 'hono'
import type { Logger } from '../../core/index.ts'

interface LivePrincipal {
  accountId: string
}
interface LiveAuth {
  authenticate(bearer: string | undefined, scope: 'cli'): Promise<LivePrincipal>
}
type Unsubscribe = () => void
interface LiveGateway {
  on(event: 'register', fn: (e: { agent: object; principal: LivePrincipal }) => void): Unsubscribe
  on(event: 'metrics', fn: (e: { agentId: string; metrics: object; principal: LivePrincipal }) => void): Unsubscribe
  on(event: 'statusUpdate', fn: (e: { agentId: string; update: object; principal: LivePrincipal }) => void): Unsubscribe
  on(event: 'commandResult', fn: (e: { agentId: string; result: { commandId: string; status: string }; principal: LivePrincipal }) => void): Unsubscribe
  on(event: 'disconnect', fn: (e: { agentId: string; principal: LivePrincipal }) => void): Unsubscribe
}

export interface LiveEventsOptions {
  app: Hono
  /** Looks a service up by name, or returns undefined when the role has none. */
  service(name: string): unknown
  logger: Logger
  keepAliveMs?: number
  /** Most events queued for one slow browser before it is disconnected (it reconnects and refetches). */
  maxQueued?: number
}

const encoder = new TextEncoder()

export function mountLiveEvents(options: LiveEventsOptions): { close(): void; readonly connections: number } {
  const keepAliveMs = options.keepAliveMs ?? 15_000
  const maxQueued = options.maxQueued ?? 5000
  const streams = new Set<{ account: string; send(target: string, args: unknown[]): void; close(): void }>()
  let detach: Unsubscribe[] | undefined

  const broadcast = (account: string, target: string, args: unknown[]) => {
    for (const s of streams) if (s.account === account) s.send(target, args)
  }
  // Subscribe to the gateway once, on the first browser, so a hub without one still serves assets.
  const attach = (gateway: LiveGateway) => {
    detach ??= [
      gateway.on('register', (e) => broadcast(e.principal.accountId, 'NodeRegistered', [{ ...e.agent, status: 'online', lastSeenAt: new Date().toISOString() }])),
      gateway.on('metrics', (e) => broadcast(e.principal.accountId, 'NodeMetrics', [{ ...e.metrics, agentId: e.agentId }])),
      gateway.on('statusUpdate', (e) => broadcast(e.principal.accountId, 'StackServiceStatus', [{ ...e.update, agentId: e.agentId }])),
      gateway.on('commandResult', (e) => broadcast(e.principal.accountId, 'StackCommandResult', [{ agentId: e.agentId, commandId: e.result.commandId, status: e.result.status }])),
      gateway.on('disconnect', (e) => broadcast(e.principal.accountId, 'NodeDisconnected', [{ agentId: e.agentId }])),
    ]
  }

  options.app.get('/ui/events', async (c) => {
    const auth = options.service('auth') as LiveAuth | undefined
    const gateway = options.service('agent-gateway') as LiveGateway | undefined
    if (!auth || !gateway) return c.json({ error: 'live_unavailable', message: 'This hub has no live fleet events; the dashboard refreshes by polling.' }, 503)
    const header = c.req.header('authorization')
    const token = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : c.req.query('access_token')
    let principal: LivePrincipal
    try {
      principal = await auth.authenticate(token, 'cli')
    } catch (error) {
      const status = (error as { status?: number }).status === 403 ? 403 : 401
      return c.json({ error: status === 403 ? 'forbidden' : 'unauthorized', message: (error as Error).message }, status)
    }
    attach(gateway)

    let controller: ReadableStreamDefaultController<Uint8Array>
    let timer: ReturnType<typeof setInterval> | undefined
    const entry = {
      account: principal.accountId,
      send(target: string, args: unknown[]) {
        // desiredSize goes negative by the number of chunks the browser has not read yet.
        if ((controller.desiredSize ?? 0) < -maxQueued) return entry.close()
        try {
          controller.enqueue(encoder.encode(`data: ${JSON.stringify({ target, arguments: args })}\n\n`))
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
      for (const off of detach ?? []) off()
      detach = undefined
      for (const s of [...streams]) s.close()
    },
    get connections() {
      return streams.size
    },
  }
}
