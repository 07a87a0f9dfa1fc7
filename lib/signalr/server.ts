// The SignalR server: mounts hubs on a Hono app with negotiate (v0/v1), WebSockets, Server-Sent
// Events and long polling, keep-alive and timeouts on one heartbeat, CORS, and limits.
import type { Context, Hono } from 'hono'
import type { UpgradeWebSocket, WSContext } from 'hono/ws'
import { readLimitedText } from '../http/read-limited-body.ts'
import { HubConnection, type LoggerLike, type TransportSink } from './connection.ts'
import { createHubRuntime } from './hub.ts'
import { newConnectionId, redactAccessToken } from './ids.ts'
import { PendingNegotiations } from './negotiations.ts'
import type { HubRuntime } from './connection.ts'
import type { Hub, HubDefinition, TransportKind } from './types.ts'

export interface SignalRServerOptions {
  app: Hono
  /** Hono's WebSocket upgrade helper; without it only SSE and long polling are offered. */
  // deno-lint-ignore no-explicit-any
  upgradeWebSocket?: UpgradeWebSocket<any, any, any>
  logger?: LoggerLike
  /** Largest record a client may send, in bytes (default 1 MiB). */
  maxMessageSize?: number
  /** A ping goes out when nothing was sent for this long (default 15 s). */
  keepAliveMs?: number
  /** A connection that sent nothing for this long is closed (default 30 s). */
  clientTimeoutMs?: number
  /** A connection without a handshake after this long is closed (default 15 s). */
  handshakeTimeoutMs?: number
  /** Unused negotiations and silent long-polling clients are dropped after this (default 15 s). */
  disconnectTimeoutMs?: number
  /** How long a long poll waits for data before returning empty (default 90 s). */
  pollTimeoutMs?: number
  /** How often timers are checked (default 1 s). */
  heartbeatMs?: number
  transports?: TransportKind[]
  /** Negotiations not yet used by a transport; beyond this negotiate answers 429 (default 10 000). */
  maxPendingNegotiations?: number
  /**
   * Of those, how many one owner may hold (default a tenth): beyond this its negotiate answers 429
   * while other owners still get in. Negotiations without an owner count only against the total.
   */
  maxPendingNegotiationsPerOwner?: number
  /** The owner of an authenticated principal (default its `accountId`, when it has one). */
  negotiationOwner?: (principal: unknown) => string | undefined
  /** Allowed browser origins; default echoes any origin (with credentials). */
  corsOrigins?: string[] | ((origin: string) => boolean)
}

export interface SignalRServer {
  mapHub<P>(path: string, definition: HubDefinition<P>): Hub<P>
  hub<P = unknown>(path: string): Hub<P> | undefined
  /** Every live connection across hubs. */
  readonly connectionCount: number
  /** Closes every connection (allowing clients to reconnect elsewhere) and stops the timers. */
  close(): Promise<void>
}

const ALL_TRANSPORTS: TransportKind[] = ['WebSockets', 'ServerSentEvents', 'LongPolling']
const TRANSFER_FORMATS: Record<TransportKind, string[]> = {
  WebSockets: ['Text', 'Binary'],
  ServerSentEvents: ['Text'],
  LongPolling: ['Text', 'Binary'],
}

interface LongPollState {
  queue: string[]
  waiter: ((response: Response) => void) | null
  closing: boolean
  lastPollEnd: number
  posting: boolean
}

const silentLogger: LoggerLike = { debug() {}, warn() {} }
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** SSE framing: one `data:` line per `\n`-separated line, trailing `\r` removed, blank line after. */
export function formatServerSentEvent(text: string): string {
  let out = ''
  for (const line of text.split('\n')) out += `data: ${line.endsWith('\r') ? line.slice(0, -1) : line}\r\n`
  return out + '\r\n'
}

/**
 * One WebSocket connection's event handlers and its transport sink in one object: a connection
 * lives for days and idle connections are what limit how many agents one process holds, so this
 * is methods on a prototype rather than six closures. Adapters call the handlers as methods.
 */
class WebSocketTransport implements TransportSink {
  private readonly connection: HubConnection
  private readonly negotiating: PendingNegotiations<HubConnection>
  private ws: WSContext | undefined

  constructor(connection: HubConnection, negotiating: PendingNegotiations<HubConnection>) {
    this.connection = connection
    this.negotiating = negotiating
  }
  onOpen(_event: Event, ws: WSContext): void {
    this.ws = ws
    this.negotiating.delete(this.connection)
    this.connection.attach('WebSockets', this)
  }
  onMessage(event: MessageEvent): void {
    const data = event.data
    this.connection.receive(typeof data === 'string' ? data : decoder.decode(data as ArrayBuffer))
  }
  onClose(): void {
    this.connection.transportClosed()
  }
  onError(): void {
    this.connection.transportClosed(new Error('WebSocket error.'))
  }
  write(data: string): void {
    this.ws?.send(data)
  }
  close(): void {
    this.ws?.close(1000)
  }
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500
}

export function createSignalRServer(options: SignalRServerOptions): SignalRServer {
  const app = options.app
  const logger = options.logger ?? silentLogger
  const maxMessageSize = options.maxMessageSize ?? 1024 * 1024
  const keepAliveMs = options.keepAliveMs ?? 15_000
  const clientTimeoutMs = options.clientTimeoutMs ?? 30_000
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 15_000
  const disconnectTimeoutMs = options.disconnectTimeoutMs ?? 15_000
  const pollTimeoutMs = options.pollTimeoutMs ?? 90_000
  const heartbeatMs = options.heartbeatMs ?? Math.min(1000, keepAliveMs / 2, clientTimeoutMs / 2, handshakeTimeoutMs / 2)
  const maxPendingNegotiations = options.maxPendingNegotiations ?? 10_000
  const maxPendingPerOwner = options.maxPendingNegotiationsPerOwner ?? Math.max(1, Math.ceil(maxPendingNegotiations / 10))
  const ownerOf =
    options.negotiationOwner ??
    ((principal: unknown) => {
      const accountId = (principal as { accountId?: unknown } | null | undefined)?.accountId
      return typeof accountId === 'string' ? accountId : undefined
    })
  // Unused negotiations expire after the disconnect timeout: by then there is room again.
  const retryAfter = String(Math.max(1, Math.ceil(disconnectTimeoutMs / 1000)))
  const transports = (options.transports ?? ALL_TRANSPORTS).filter((t) => t !== 'WebSockets' || options.upgradeWebSocket)

  const byToken = new Map<string, HubConnection>()
  const negotiating = new PendingNegotiations<HubConnection>()
  const longPolls = new WeakMap<HubConnection, LongPollState>()
  const hubs = new Map<string, HubRuntime>()
  let closed = false

  const released = (connection: HubConnection) => {
    negotiating.delete(connection)
    // A long-polling client still collects the Close message, its final 204 and sends DELETE.
    if (longPolls.has(connection)) return
    if (byToken.get(connection.token) === connection) byToken.delete(connection.token)
  }

  const allowOrigin = (origin: string): boolean => {
    const rule = options.corsOrigins
    if (!rule) return true
    return typeof rule === 'function' ? rule(origin) : rule.includes(origin)
  }
  const corsHeaders = (c: Context): Record<string, string> => {
    const origin = c.req.header('origin')
    if (!origin || !allowOrigin(origin)) return {}
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' }
  }
  const reply = (c: Context, status: number, body: string | null, headers: Record<string, string> = {}) =>
    new Response(body, { status, headers: { ...corsHeaders(c), ...headers } })
  const json = (c: Context, status: number, value: unknown) =>
    reply(c, status, JSON.stringify(value), { 'Content-Type': 'application/json' })
  const text = (c: Context, status: number, value: string) => reply(c, status, value, { 'Content-Type': 'text/plain' })

  const bearer = (c: Context): string | undefined => {
    const header = c.req.header('authorization')
    if (header && /^bearer\s+/i.test(header)) return header.replace(/^bearer\s+/i, '').trim()
    return new URL(c.req.url).searchParams.get('access_token') ?? undefined
  }

  const authenticate = async (runtime: HubRuntime, c: Context): Promise<{ principal: unknown } | Response> => {
    const auth = runtime.definition.authenticate
    if (!auth) return { principal: undefined }
    try {
      const url = new URL(c.req.url)
      return { principal: await auth({ request: c.req.raw, url, headers: c.req.raw.headers, token: bearer(c) }) }
    } catch (error) {
      const status = statusOf(error)
      if (status >= 500) logger.warn(`SignalR authentication failed on ${runtime.path}:`, error)
      const code = (error as { code?: unknown }).code
      return json(c, status, {
        error: typeof code === 'string' ? code : status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'internal_error',
        message: status >= 500 ? 'Authentication failed.' : (error as Error).message,
      })
    }
  }

  const lookup = (c: Context, runtime: HubRuntime): HubConnection | Response => {
    const id = new URL(c.req.url).searchParams.get('id')
    if (!id) return text(c, 400, 'Connection ID required')
    const connection = byToken.get(id)
    if (!connection || connection.runtime !== runtime) return text(c, 404, 'No Connection with that ID')
    return connection
  }

  const preflight = (c: Context) => {
    const headers: Record<string, string> = {
      ...corsHeaders(c),
      'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
      'Access-Control-Allow-Headers':
        c.req.header('access-control-request-headers') ?? 'Authorization, Content-Type, X-Requested-With, X-SignalR-User-Agent',
      'Access-Control-Max-Age': '600',
    }
    return new Response(null, { status: 204, headers })
  }

  const negotiate = async (c: Context, runtime: HubRuntime) => {
    logger.debug(`SignalR negotiate ${redactAccessToken(c.req.url)}`)
    if (closed) return json(c, 503, { error: 'The server is shutting down.' })
    const raw = new URL(c.req.url).searchParams.get('negotiateVersion')
    let version = 0
    if (raw !== null) {
      if (!/^-?\d+$/.test(raw)) return json(c, 400, { error: 'The client requested a non-integer protocol version.' })
      const requested = Number.parseInt(raw, 10)
      if (requested < 0) return json(c, 400, { error: `The client requested version '${requested}', but the server does not support this version.` })
      version = Math.min(requested, 1)
    }
    if (negotiating.size >= maxPendingNegotiations) {
      return reply(c, 429, JSON.stringify({ error: 'too_many_negotiations', message: 'Too many pending negotiations; retry later.' }), { 'Content-Type': 'application/json', 'Retry-After': retryAfter })
    }
    const auth = await authenticate(runtime, c)
    if (auth instanceof Response) return auth
    const owner = ownerOf(auth.principal)
    if (owner !== undefined && negotiating.countOf(owner) >= maxPendingPerOwner) {
      const message = `This account has ${maxPendingPerOwner} negotiations not yet connected; connect with those or retry later.`
      return reply(c, 429, JSON.stringify({ error: 'too_many_negotiations', message }), { 'Content-Type': 'application/json', 'Retry-After': retryAfter })
    }
    const connectionId = newConnectionId()
    const token = version >= 1 ? newConnectionId() : connectionId
    const connection = new HubConnection(runtime, connectionId, token, auth.principal)
    byToken.set(token, connection)
    negotiating.add(connection, owner)
    const body: Record<string, unknown> = {
      negotiateVersion: version,
      connectionId,
      availableTransports: transports.map((transport) => ({ transport, transferFormats: TRANSFER_FORMATS[transport] })),
    }
    if (version >= 1) body.connectionToken = token
    return json(c, 200, body)
  }

  const webSocket = async (c: Context, runtime: HubRuntime, next: () => Promise<void>) => {
    if (!options.upgradeWebSocket || !transports.includes('WebSockets')) return text(c, 400, 'WebSockets are not enabled on this server.')
    const id = new URL(c.req.url).searchParams.get('id')
    let connection: HubConnection
    if (id === null) {
      // skipNegotiation: the socket itself is the negotiation.
      const auth = await authenticate(runtime, c)
      if (auth instanceof Response) return auth
      const connectionId = newConnectionId()
      connection = new HubConnection(runtime, connectionId, newConnectionId(), auth.principal)
      byToken.set(connection.token, connection)
    } else {
      const found = byToken.get(id)
      if (!found || found.runtime !== runtime || found.state === 'closed') return text(c, 404, 'No Connection with that ID')
      if (found.transport !== null) return text(c, 409, 'Connection already has a transport.')
      connection = found
    }
    // Reserve the connection now so a second socket racing this one gets 409.
    connection.transport = 'WebSockets'
    const upgrade = options.upgradeWebSocket(() => new WebSocketTransport(connection, negotiating))
    return upgrade(c, next)
  }

  const serverSentEvents = (c: Context, connection: HubConnection) => {
    if (connection.transport !== null) return text(c, 409, 'Connection already has a transport.')
    negotiating.delete(connection)
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined
    let open = true
    const sink: TransportSink = {
      write(data) {
        if (open) controller?.enqueue(encoder.encode(formatServerSentEvent(data)))
      },
      close() {
        if (!open) return
        open = false
        try {
          controller?.close()
        } catch {
          // already closed by the client
        }
      },
    }
    const stream = new ReadableStream<Uint8Array>({
      start(streamController) {
        controller = streamController
        // The client's connect() waits for onopen, so flush something at once.
        streamController.enqueue(encoder.encode(':\r\n'))
      },
      cancel() {
        open = false
        connection.transportClosed()
      },
    })
    c.req.raw.signal?.addEventListener('abort', () => {
      open = false
      connection.transportClosed()
    })
    connection.attach('ServerSentEvents', sink)
    return new Response(stream, {
      status: 200,
      headers: {
        ...corsHeaders(c),
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache,no-store',
        'Content-Encoding': 'identity',
        'X-Accel-Buffering': 'no',
      },
    })
  }

  const takeQueue = (c: Context, lp: LongPollState) => {
    const body = lp.queue.join('')
    lp.queue = []
    return reply(c, 200, body, { 'Content-Type': 'application/octet-stream' })
  }

  const longPoll = (c: Context, connection: HubConnection): Response | Promise<Response> => {
    if (connection.transport === null) {
      negotiating.delete(connection)
      const lp: LongPollState = { queue: [], waiter: null, closing: false, lastPollEnd: Date.now(), posting: false }
      longPolls.set(connection, lp)
      connection.attach('LongPolling', {
        write(data) {
          lp.queue.push(data)
          if (lp.waiter) {
            const waiter = lp.waiter
            lp.waiter = null
            waiter(takeQueue(c, lp))
          }
        },
        close() {
          lp.closing = true
          if (lp.waiter && lp.queue.length === 0) {
            const waiter = lp.waiter
            lp.waiter = null
            waiter(reply(c, 204, null))
          }
        },
      })
      // The first poll returns at once and empty: the official client discards its body.
      return reply(c, 200, null, { 'Content-Length': '0' })
    }
    const lp = longPolls.get(connection)
    if (!lp) return text(c, 400, 'Cannot change transports mid-connection.')
    if (lp.waiter) {
      const superseded = lp.waiter
      lp.waiter = null
      superseded(reply(c, 204, null))
    }
    if (lp.queue.length > 0) {
      lp.lastPollEnd = Date.now()
      return takeQueue(c, lp)
    }
    // The token lives on until DELETE or expiry, so the client's closing DELETE still gets 202.
    if (lp.closing || connection.state === 'closed') return reply(c, 204, null)
    return new Promise<Response>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const finish = (response: Response) => {
        if (timer) clearTimeout(timer)
        lp.lastPollEnd = Date.now()
        resolve(response)
      }
      lp.waiter = (response) => finish(response)
      timer = setTimeout(() => {
        if (lp.waiter) {
          lp.waiter = null
          finish(reply(c, 200, null, { 'Content-Length': '0' }))
        }
      }, pollTimeoutMs)
      c.req.raw.signal?.addEventListener('abort', () => {
        if (lp.waiter) {
          lp.waiter = null
          finish(reply(c, 204, null))
        }
      })
    })
  }

  const sendData = async (c: Context, runtime: HubRuntime) => {
    const found = lookup(c, runtime)
    if (found instanceof Response) return found
    if (found.transport === 'WebSockets') return text(c, 405, 'POST requests are not allowed for WebSocket connections.')
    if (found.transport === null || found.state === 'closed') return text(c, 404, 'No Connection with that ID')
    const lp = longPolls.get(found)
    const guard = lp ?? (found as unknown as { posting?: boolean })
    if (guard.posting) return text(c, 409, 'Another send request is already in progress.')
    guard.posting = true
    try {
      const body = await readLimitedText(c.req.raw, maxMessageSize * 4)
      if (body === undefined) {
        found.close(`Connection closed with an error. InvalidDataException: The maximum message size of ${maxMessageSize}B was exceeded.`)
        return text(c, 413, 'Message too large.')
      }
      found.receive(body)
      return reply(c, 200, null)
    } finally {
      guard.posting = false
    }
  }

  const deleteConnection = (c: Context, runtime: HubRuntime) => {
    const found = lookup(c, runtime)
    if (found instanceof Response) return found
    const lp = longPolls.get(found)
    if (!lp) return text(c, 400, 'Cannot terminate this connection using the DELETE endpoint.')
    lp.closing = true
    lp.queue = []
    if (lp.waiter) {
      const waiter = lp.waiter
      lp.waiter = null
      waiter(reply(c, 204, null))
    }
    byToken.delete(found.token)
    found.transportClosed()
    return reply(c, 202, null)
  }

  /** Checks every connection's timeouts as of `now`. */
  const tick = (now: number) => {
    for (const connection of byToken.values()) {
      const lp = longPolls.get(connection)
      switch (connection.state) {
        case 'negotiated':
          if (now - connection.createdAt > disconnectTimeoutMs) {
            negotiating.delete(connection)
            byToken.delete(connection.token)
            connection.transportClosed()
          }
          break
        case 'handshaking':
          if (now - connection.handshakeStartedAt > handshakeTimeoutMs) {
            logger.debug(`SignalR connection ${connection.connectionId} sent no handshake in time.`)
            connection.failHandshake('Handshake was canceled.')
          }
          break
        case 'connected':
          if (lp) {
            if (!lp.waiter && now - lp.lastPollEnd > disconnectTimeoutMs) {
              byToken.delete(connection.token)
              connection.transportClosed(new Error('The long-polling client stopped polling.'))
            }
            break
          }
          if (now - connection.lastReceived > clientTimeoutMs) {
            connection.close(`Server timeout: nothing received from the client for ${clientTimeoutMs} ms.`, true)
          } else if (now - connection.lastSent >= keepAliveMs) {
            connection.ping()
          }
          break
        case 'closed':
          if (lp && !lp.waiter && now - lp.lastPollEnd > disconnectTimeoutMs) byToken.delete(connection.token)
          break
      }
    }
  }
  // Timers run before I/O in each turn of the event loop: after a turn that was busy for seconds (a
  // mid-tier taking back a whole fleet at once) the handshakes and pings that arrived meanwhile would
  // still be unread when the timeouts are checked. Checking after the I/O phase reads them first; and
  // a check queued before such a turn judges as of when it was queued, not by the time it runs.
  const heartbeat = setInterval(() => {
    const at = Date.now()
    setImmediate(() => tick(at))
  }, heartbeatMs)
  ;(heartbeat as { unref?: () => void }).unref?.()

  return {
    mapHub<P>(path: string, definition: HubDefinition<P>): Hub<P> {
      if (hubs.has(path)) throw new Error(`A SignalR hub is already mapped at ${path}.`)
      const runtime = createHubRuntime(path, definition, { maxMessageSize, logger, released })
      hubs.set(path, runtime)
      app.options(`${path}/negotiate`, preflight)
      app.options(path, preflight)
      app.post(`${path}/negotiate`, (c) => negotiate(c, runtime))
      app.get(path, async (c, next) => {
        logger.debug(`SignalR connect ${redactAccessToken(c.req.url)}`)
        if (c.req.header('upgrade')?.toLowerCase() === 'websocket') return webSocket(c, runtime, next)
        const found = lookup(c, runtime)
        if (found instanceof Response) return found
        if (found.state === 'closed' && !longPolls.has(found)) return text(c, 404, 'No Connection with that ID')
        if ((c.req.header('accept') ?? '').includes('text/event-stream')) {
          if (!transports.includes('ServerSentEvents')) return text(c, 400, 'Server-Sent Events are not enabled on this server.')
          return serverSentEvents(c, found)
        }
        if (!transports.includes('LongPolling')) return text(c, 400, 'Long polling is not enabled on this server.')
        if (found.transport !== null && found.transport !== 'LongPolling') return text(c, 400, 'Cannot change transports mid-connection.')
        return longPoll(c, found)
      })
      app.post(path, (c) => sendData(c, runtime))
      app.delete(path, (c) => deleteConnection(c, runtime))
      return runtime.handle as Hub<P>
    },
    hub<P>(path: string) {
      return hubs.get(path)?.handle as Hub<P> | undefined
    },
    get connectionCount() {
      let count = 0
      for (const runtime of hubs.values()) count += runtime.connections.size
      return count
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(heartbeat)
      for (const connection of [...byToken.values()]) {
        if (connection.state === 'connected') connection.close(undefined, true)
        else connection.shutdown()
      }
      byToken.clear()
    },
  }
}
