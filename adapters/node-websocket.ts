// WebSocket upgrades for the Node adapter: hono's UpgradeWebSocket contract on one `ws` server,
// keeping nothing of the upgrade request or its Hono context once the socket is open.
//
// @hono/node-ws keeps each connection's Hono context (with its Request, IncomingMessage, URLs and
// a dozen closures) alive for the life of the socket: about 6 KiB of heap per idle connection,
// twice what `ws` itself needs. Here a connection holds its `ws` socket, one small context object
// and the plugin's event handlers; the listeners are shared by every connection.
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Hono } from 'hono'
import { defineWebSocketHelper, type SendOptions, type UpgradeWebSocket, type WSEvents, type WSReadyState } from 'hono/ws'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { upgradeRequest } from './node-upgrade-request.ts'

const PENDING = Symbol('thresh.websocket.pending')
const CONTEXT = Symbol('thresh.websocket.context')

interface PendingUpgrade {
  events: WSEvents<WebSocket>
  onError: (error: unknown) => void
}

/** `c.env` of an upgrade request: what @hono/node-server gives HTTP requests, so getConnInfo works. */
interface UpgradeEnv {
  incoming: IncomingMessage
  outgoing: undefined
  [PENDING]?: PendingUpgrade
}

type TrackedSocket = WebSocket & { [CONTEXT]?: NodeWSContext }

// Node 20 has neither CloseEvent nor ErrorEvent as globals.
const CloseEventImpl: typeof CloseEvent =
  (globalThis as { CloseEvent?: typeof CloseEvent }).CloseEvent ??
  (class extends Event {
    readonly code: number
    readonly reason: string
    readonly wasClean: boolean
    constructor(type: string, init: CloseEventInit = {}) {
      super(type, init)
      this.code = init.code ?? 0
      this.reason = init.reason ?? ''
      this.wasClean = init.wasClean ?? false
    }
  } as unknown as typeof CloseEvent)

function errorEvent(error: unknown): Event {
  const Impl = (globalThis as { ErrorEvent?: typeof ErrorEvent }).ErrorEvent
  if (Impl) return new Impl('error', { error })
  return Object.assign(new Event('error'), { error, message: error instanceof Error ? error.message : String(error) })
}

/**
 * The WSContext handed to onOpen/onMessage/onClose/onError (same surface as hono's WSContext).
 * The URL is kept as a string and parsed on demand: a URL object per idle socket costs ~300 B.
 */
class NodeWSContext {
  readonly raw: WebSocket
  binaryType: BinaryType = 'arraybuffer'
  readonly events: WSEvents<WebSocket>
  readonly onError: (error: unknown) => void
  private readonly href: string

  constructor(raw: WebSocket, href: string, pending: PendingUpgrade) {
    this.raw = raw
    this.href = href
    this.events = pending.events
    this.onError = pending.onError
  }
  get url(): URL {
    return new URL(this.href)
  }
  get protocol(): string | null {
    return this.raw.protocol
  }
  get readyState(): WSReadyState {
    return this.raw.readyState as WSReadyState
  }
  send(source: string | ArrayBuffer | Uint8Array, options?: SendOptions): void {
    this.raw.send(source, { compress: options?.compress })
  }
  close(code?: number, reason?: string): void {
    this.raw.close(code, reason)
  }
}

function toMessageData(data: RawData, isBinary: boolean): string | ArrayBuffer {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data
  if (!isBinary) return buffer.toString('utf-8')
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer
}

// One set of listeners for every socket; `this` is the socket, its context hangs off it.
function onSocketMessage(this: TrackedSocket, data: RawData, isBinary: boolean): void {
  const ctx = this[CONTEXT]!
  try {
    ctx.events.onMessage?.(new MessageEvent('message', { data: toMessageData(data, isBinary) }), ctx as never)
  } catch (error) {
    ctx.onError(error)
  }
}

function onSocketClose(this: TrackedSocket, code: number, reason: Buffer): void {
  const ctx = this[CONTEXT]!
  try {
    ctx.events.onClose?.(new CloseEventImpl('close', { code, reason: reason.toString() }), ctx as never)
  } catch (error) {
    ctx.onError(error)
  }
}

function onSocketError(this: TrackedSocket, failure: Error): void {
  const ctx = this[CONTEXT]!
  try {
    ctx.events.onError?.(errorEvent(failure), ctx as never)
  } catch (error) {
    ctx.onError(error)
  }
}

function refuse(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

export interface NodeWebSocket {
  upgradeWebSocket: UpgradeWebSocket<WebSocket>
  /** Routes an HTTP server's `upgrade` requests through the app. */
  handleUpgrade(incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>
  /** Drops every open socket (server shutdown). */
  terminateAll(): void
}

export function createNodeWebSocket(app: Hono): NodeWebSocket {
  // permessage-deflate would cost a zlib context per socket; SignalR records are small JSON.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })

  const upgradeWebSocket = defineWebSocketHelper<WebSocket>((c, events, options) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return
    const env = c.env as UpgradeEnv | undefined
    // Not an upgrade that came through handleUpgrade (e.g. app.request() in a test).
    if (!env || !(PENDING in env)) return
    const onError = (options as { onError?: (error: unknown) => void } | undefined)?.onError ?? console.error
    env[PENDING] = { events, onError }
    // Ignored by handleUpgrade: the socket gets the 101 from `ws`.
    return new Response(null)
  })

  const handleUpgrade = async (incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const dropOnError = () => socket.destroy()
    socket.on('error', dropOnError)
    const env: UpgradeEnv = { incoming, outgoing: undefined, [PENDING]: undefined }
    let response: Response
    let href: string
    try {
      const request = upgradeRequest(incoming)
      href = request.url
      response = await app.fetch(request, env)
    } catch {
      socket.off('error', dropOnError)
      if (socket.writable) refuse(socket, 500)
      else socket.destroy()
      return
    }
    socket.off('error', dropOnError)
    const pending = env[PENDING]
    if (!pending) {
      refuse(socket, response.status)
      return
    }
    wss.handleUpgrade(incoming, socket, head, (ws: TrackedSocket) => {
      const ctx = new NodeWSContext(ws, href, pending)
      ws[CONTEXT] = ctx
      try {
        pending.events.onOpen?.(new Event('open'), ctx as never)
      } catch (error) {
        pending.onError(error)
      }
      ws.on('message', onSocketMessage)
      ws.on('close', onSocketClose)
      ws.on('error', onSocketError)
    })
  }

  return {
    upgradeWebSocket: upgradeWebSocket as UpgradeWebSocket<WebSocket>,
    handleUpgrade,
    terminateAll() {
      for (const ws of wss.clients) ws.terminate()
    },
  }
}
