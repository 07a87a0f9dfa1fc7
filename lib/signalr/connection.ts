// One client connection: its transport sink, the handshake, record reading, keep-alive bookkeeping,
// pending client results and the orderly close. Transport-specific HTTP lives in server.ts.
import { createRecordReader, MessageTooLargeError, type RecordReader } from './framing.ts'
import {
  HANDSHAKE_OK,
  HubProtocolError,
  MessageType,
  parseHandshake,
  parseHubMessage,
  PING_RECORD,
  writeHandshakeError,
  writeHubMessage,
  type HubMessage,
} from './hub-protocol.ts'
import type { Channel } from './channel.ts'
import type { GroupIndex } from './groups.ts'
import type { Hub, HubDefinition, HubMethod, HubStreamMethod, TransportKind } from './types.ts'

/** Where a connection's outgoing text goes; one per transport. */
export interface TransportSink {
  write(text: string): void
  /** Ends the transport after what was written has been delivered. */
  close(): void
}

export interface LoggerLike {
  debug(...args: unknown[]): void
  warn(...args: unknown[]): void
  error?(...args: unknown[]): void
}

export interface HubRuntime {
  path: string
  // deno-lint-ignore no-explicit-any
  definition: HubDefinition<any>
  // deno-lint-ignore no-explicit-any
  handle: Hub<any>
  connections: Map<string, HubConnection>
  groups: GroupIndex
  // deno-lint-ignore no-explicit-any
  lookup(target: string): { kind: 'method'; name: string; fn: HubMethod<any> } | { kind: 'stream'; name: string; fn: HubStreamMethod<any> } | undefined
  nextServerInvocationId(): string
  maxMessageSize: number
  logger: LoggerLike
  dispatch(connection: HubConnection, message: HubMessage): void
  /** The connection finished; the server forgets its token. */
  released(connection: HubConnection): void
}

type State = 'negotiated' | 'handshaking' | 'connected' | 'closed'

// What connections write during one turn of the event loop goes out as one transport write at its
// end: a client that pipelines calls, or broadcasts that reach it many times in a turn, cost one
// frame and one system call instead of one each. Past this many characters a connection writes at once.
const MAX_COALESCED = 64 * 1024
let dirty: HubConnection[] = []
let flushScheduled = false
function flushDirty(): void {
  flushScheduled = false
  const connections = dirty
  dirty = []
  for (const connection of connections) connection.flushOutgoing()
}

interface PendingResult {
  resolve(value: unknown): void
  reject(error: Error): void
  timer: ReturnType<typeof setTimeout> | undefined
}

export class HubConnection {
  readonly connectionId: string
  readonly token: string
  readonly runtime: HubRuntime
  readonly principal: unknown
  readonly createdAt: number = Date.now()
  transport: TransportKind | null = null
  state: State = 'negotiated'
  sink: TransportSink | null = null
  lastReceived: number = Date.now()
  lastSent: number = Date.now()
  handshakeStartedAt = 0
  /** Set when the hub's onConnected ran, so onDisconnected runs exactly when it should. */
  connectedNotified = false
  // Allocated on first use: most connections never stream or await client results, and idle
  // memory per connection is what limits how many agents one process holds.
  private lazyItems: Map<string, unknown> | undefined
  private lazyController: AbortController | undefined
  private lazyPending: Map<string, PendingResult> | undefined
  private lazyStreams: Map<string, AbortController> | undefined
  private lazyUploads: Map<string, Channel<unknown>> | undefined
  get items(): Map<string, unknown> {
    return (this.lazyItems ??= new Map())
  }
  /** Aborted when the connection closes; an AbortSignal per idle connection costs ~0.5 KiB. */
  get controller(): AbortController {
    if (!this.lazyController) {
      this.lazyController = new AbortController()
      if (this.state === 'closed') this.lazyController.abort()
    }
    return this.lazyController
  }
  get pendingResults(): Map<string, PendingResult> {
    return (this.lazyPending ??= new Map())
  }
  get activeStreams(): Map<string, AbortController> {
    return (this.lazyStreams ??= new Map())
  }
  get uploads(): Map<string, Channel<unknown>> {
    return (this.lazyUploads ??= new Map())
  }
  /** Serialises invocations; completions and pings bypass it so client results never deadlock. */
  invocationSlots: number
  readonly invocationQueue: Array<() => Promise<void>> = []
  private reader: RecordReader
  /** Records written this turn, not yet handed to the transport. */
  private outgoing = ''

  constructor(runtime: HubRuntime, connectionId: string, token: string, principal: unknown) {
    this.runtime = runtime
    this.connectionId = connectionId
    this.token = token
    this.principal = principal
    this.reader = createRecordReader(runtime.maxMessageSize)
    this.invocationSlots = Math.max(1, runtime.definition.maxParallelInvocations ?? 1)
  }

  /** Binds a transport; the handshake clock starts now. */
  attach(transport: TransportKind, sink: TransportSink): void {
    this.transport = transport
    this.sink = sink
    this.state = 'handshaking'
    this.handshakeStartedAt = Date.now()
    this.lastReceived = Date.now()
    this.lastSent = Date.now()
  }

  write(text: string): void {
    if (this.state === 'closed' || !this.sink) return
    this.lastSent = Date.now()
    if (this.outgoing === '') {
      dirty.push(this)
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flushDirty)
      }
    }
    this.outgoing += text
    if (this.outgoing.length >= MAX_COALESCED) this.flushOutgoing()
  }

  /** Hands what this turn wrote to the transport. */
  flushOutgoing(): void {
    const text = this.outgoing
    if (text === '') return
    this.outgoing = ''
    if (this.state !== 'closed') this.sink?.write(text)
  }

  send(message: HubMessage): void {
    this.write(writeHubMessage(message))
  }

  ping(): void {
    this.write(PING_RECORD)
  }

  /** Feeds text received from the transport. */
  receive(text: string): void {
    if (this.state === 'closed') return
    this.lastReceived = Date.now()
    let records: string[]
    try {
      records = this.reader.push(text)
    } catch (error) {
      if (error instanceof MessageTooLargeError) {
        this.runtime.logger.warn(`SignalR connection ${this.connectionId} closed: ${error.message}`)
        if (this.state === 'handshaking') this.failHandshake('Handshake was canceled.')
        else this.close(`Connection closed with an error. InvalidDataException: ${error.message}`)
        return
      }
      throw error
    }
    for (const record of records) {
      if ((this.state as State) === 'closed') return
      if (this.state === 'handshaking') {
        this.handleHandshake(record)
        continue
      }
      let message: HubMessage
      try {
        message = parseHubMessage(record)
      } catch (error) {
        const reason = error instanceof HubProtocolError ? error.message : String(error)
        this.runtime.logger.warn(`SignalR connection ${this.connectionId} sent bad data: ${reason}`)
        this.close(`Connection closed with an error. InvalidDataException: ${reason}`)
        return
      }
      this.runtime.dispatch(this, message)
    }
  }

  private handleHandshake(record: string): void {
    const request = parseHandshake(record)
    if ('error' in request) {
      this.failHandshake(request.error)
      return
    }
    this.state = 'connected'
    // The handshake answer goes alone and at once, as ASP.NET Core flushes it before any message.
    this.write(HANDSHAKE_OK)
    this.flushOutgoing()
    this.runtime.connections.set(this.connectionId, this)
    this.connectedNotified = true
    const onConnected = this.runtime.definition.onConnected
    if (onConnected) {
      // Invocations wait for onConnected, as they do on ASP.NET Core.
      this.enqueueInvocation(async () => {
        try {
          await onConnected(this.runtime.handle.connection(this.connectionId)!)
        } catch (error) {
          this.runtime.logger.warn(`SignalR onConnected failed for ${this.connectionId}:`, error)
          this.close('Connection closed with an error.')
        }
      })
    }
  }

  failHandshake(error: string): void {
    this.write(writeHandshakeError(error))
    this.shutdown()
  }

  enqueueInvocation(run: () => Promise<void>): void {
    this.invocationQueue.push(run)
    this.drainInvocations()
  }

  private drainInvocations(): void {
    while (this.invocationSlots > 0 && this.invocationQueue.length > 0 && this.state !== 'closed') {
      const run = this.invocationQueue.shift()!
      this.invocationSlots--
      run().finally(() => {
        this.invocationSlots++
        this.drainInvocations()
      })
    }
  }

  /** Server -> client call awaiting the client's result. */
  invokeClient(target: string, args: unknown[], timeoutMs = 30_000): Promise<unknown> {
    if (this.state !== 'connected') {
      return Promise.reject(new Error(`Connection ${this.connectionId} is not connected.`))
    }
    const invocationId = this.runtime.nextServerInvocationId()
    return new Promise((resolve, reject) => {
      const pending: PendingResult = { resolve, reject, timer: undefined }
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        pending.timer = setTimeout(() => {
          this.pendingResults.delete(invocationId)
          reject(new Error(`Client ${this.connectionId} did not answer '${target}' within ${timeoutMs} ms.`))
        }, timeoutMs)
      }
      this.pendingResults.set(invocationId, pending)
      this.send({ type: MessageType.Invocation, invocationId, target, arguments: args })
    })
  }

  /** A Completion for one of our `s`-ids arrived. */
  settleClientResult(invocationId: string, result: unknown, error: string | undefined): boolean {
    const pending = this.pendingResults.get(invocationId)
    if (!pending) return false
    this.pendingResults.delete(invocationId)
    if (pending.timer) clearTimeout(pending.timer)
    if (error !== undefined) pending.reject(new Error(error))
    else pending.resolve(result)
    return true
  }

  /** Closes deliberately: a Close message (when connected), then the transport. */
  close(error?: string, allowReconnect?: boolean): void {
    if (this.state === 'closed') return
    if (this.state === 'connected') {
      const message: HubMessage = { type: MessageType.Close }
      if (error !== undefined) message.error = error
      if (allowReconnect) message.allowReconnect = true
      this.send(message)
    }
    this.shutdown(error === undefined ? undefined : new Error(error))
  }

  /** Ends the transport and then forgets the connection. */
  shutdown(error?: Error): void {
    if (this.state === 'closed') return
    // What was written (a Close message, a handshake error) goes out before the transport ends.
    this.flushOutgoing()
    const sink = this.sink
    this.finish(error)
    sink?.close()
  }

  /** The transport is gone (client closed, socket dropped, DELETE, expiry). */
  transportClosed(error?: Error): void {
    this.finish(error)
  }

  private finish(error?: Error): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.lazyController?.abort()
    for (const [id, pending] of this.lazyPending ?? []) {
      if (pending.timer) clearTimeout(pending.timer)
      pending.reject(new Error(`Connection ${this.connectionId} closed before answering invocation ${id}.`))
    }
    this.lazyPending?.clear()
    for (const stream of this.lazyStreams?.values() ?? []) stream.abort()
    this.lazyStreams?.clear()
    for (const upload of this.lazyUploads?.values() ?? []) upload.end(new Error('The connection closed.'))
    this.lazyUploads?.clear()
    this.invocationQueue.length = 0
    this.runtime.released(this)
    if (this.connectedNotified) {
      const info = { connectionId: this.connectionId, principal: this.principal, transport: this.transport, items: this.items }
      this.runtime.connections.delete(this.connectionId)
      this.runtime.groups.removeConnection(this.connectionId)
      const onDisconnected = this.runtime.definition.onDisconnected
      if (onDisconnected) {
        Promise.resolve()
          .then(() => onDisconnected(info, error))
          .catch((failure) => this.runtime.logger.warn(`SignalR onDisconnected failed for ${this.connectionId}:`, failure))
      }
    }
  }
}
