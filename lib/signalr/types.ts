// Public types of the SignalR server: hub definitions, the context a hub method receives, and the
// handles used to reach clients.

export type TransportKind = 'WebSockets' | 'ServerSentEvents' | 'LongPolling'

/** Thrown by a hub method to send its message to the caller (as ASP.NET Core's HubException). */
export class HubException extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HubException'
  }
}

/** What `authenticate` sees of a negotiate or connect request. */
export interface AuthRequest {
  request: Request
  url: URL
  headers: Headers
  /** Bearer token from `Authorization` or the `access_token` query parameter. */
  token: string | undefined
}

export interface ClientProxy {
  send(target: string, ...args: unknown[]): void
}

export interface SingleClientProxy extends ClientProxy {
  /** Calls a client method and awaits its result (client results); ids are `s`-prefixed. */
  invoke<T = unknown>(target: string, args: unknown[], options?: { timeoutMs?: number }): Promise<T>
}

export interface ConnectionInfo<P = unknown> {
  readonly connectionId: string
  readonly principal: P
  readonly transport: TransportKind | null
  /** Per-connection state a hub may keep (e.g. the agent id after registration). */
  readonly items: Map<string, unknown>
}

export interface HubMethodContext<P = unknown> extends ConnectionInfo<P> {
  readonly hub: Hub<P>
  readonly caller: SingleClientProxy
  /** Aborted when the caller cancels a stream or the connection closes. */
  readonly signal: AbortSignal
}

// Hub methods take any arguments the client sends; validating them is the method's job.
// deno-lint-ignore no-explicit-any
export type HubMethod<P = unknown> = (ctx: HubMethodContext<P>, ...args: any[]) => unknown
// deno-lint-ignore no-explicit-any
export type HubStreamMethod<P = unknown> = (ctx: HubMethodContext<P>, ...args: any[]) => AsyncIterable<unknown>

export interface HubDefinition<P = unknown> {
  /** Runs on negotiate (and on a WebSocket without negotiate); throw an error with status 401/403. */
  authenticate?(request: AuthRequest): P | Promise<P>
  /** Methods the client may invoke; names match case-insensitively, as on ASP.NET Core. */
  methods?: Record<string, HubMethod<P>>
  /** Methods the client may stream from; they return an AsyncIterable. */
  streams?: Record<string, HubStreamMethod<P>>
  onConnected?(connection: ConnectionInfo<P>): void | Promise<void>
  onDisconnected?(connection: ConnectionInfo<P>, error?: Error): void | Promise<void>
  /** The user id behind a principal, for `clients.user(id)`. */
  userId?(principal: P): string | undefined
  /** Invocations one client may run at once (default 1; streams do not count). */
  maxParallelInvocations?: number
  /** Append exception messages to errors the client sees (ASP.NET's EnableDetailedErrors). */
  detailedErrors?: boolean
}

export interface Hub<P = unknown> {
  readonly path: string
  readonly clients: {
    readonly all: ClientProxy
    client(connectionId: string): SingleClientProxy
    clients(connectionIds: Iterable<string>): ClientProxy
    allExcept(connectionIds: Iterable<string>): ClientProxy
    group(name: string): ClientProxy
    groupExcept(name: string, connectionIds: Iterable<string>): ClientProxy
    user(userId: string): ClientProxy
  }
  readonly groups: {
    add(connectionId: string, group: string): void
    remove(connectionId: string, group: string): void
    of(connectionId: string): ReadonlySet<string>
    members(group: string): ReadonlySet<string>
  }
  connection(connectionId: string): ConnectionInfo<P> | undefined
  connections(): IterableIterator<ConnectionInfo<P>>
  readonly connectionCount: number
  /** Closes one connection with a Close message (optionally allowing the client to reconnect). */
  abort(connectionId: string, error?: string, options?: { allowReconnect?: boolean }): void
}
