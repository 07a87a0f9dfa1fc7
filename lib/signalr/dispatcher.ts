// Routes hub messages from a client: invocations (serialised per client), server streams, upload
// streams, client-result completions and cancellation, with ASP.NET Core's error wording.
import { createChannel } from './channel.ts'
import type { HubConnection } from './connection.ts'
import { MessageType, type HubMessage, type InvocationMessage, type StreamInvocationMessage } from './hub-protocol.ts'
import { HubException, type HubMethodContext } from './types.ts'

function errorText(base: string, error: unknown, detailed: boolean): string {
  if (error instanceof HubException) return `${base} HubException: ${error.message}`
  if (detailed && error instanceof Error) return `${base} ${error.name}: ${error.message}`
  return base
}

// One per invocation, so a class with its getters on the prototype: the caller's proxy and the
// signal are made only when a method asks for them, which most never do.
class MethodContext implements HubMethodContext {
  private readonly connection: HubConnection
  private readonly streamSignal: AbortSignal | undefined
  constructor(connection: HubConnection, signal?: AbortSignal) {
    this.connection = connection
    this.streamSignal = signal
  }
  get connectionId(): string {
    return this.connection.connectionId
  }
  get principal(): unknown {
    return this.connection.principal
  }
  get transport(): HubMethodContext['transport'] {
    return this.connection.transport
  }
  get items(): Map<string, unknown> {
    return this.connection.items
  }
  get hub(): HubMethodContext['hub'] {
    return this.connection.runtime.handle
  }
  get caller(): HubMethodContext['caller'] {
    return this.connection.runtime.handle.clients.client(this.connection.connectionId)
  }
  get signal(): AbortSignal {
    return this.streamSignal ?? this.connection.controller.signal
  }
}

export function dispatchMessage(connection: HubConnection, message: HubMessage): void {
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      invoke(connection, message)
      return
    case MessageType.StreamItem: {
      if (connection.uploads.size > 0) connection.uploads.get(message.invocationId)?.push(message.item)
      return
    }
    case MessageType.Completion: {
      const upload = connection.uploads.get(message.invocationId)
      if (upload) {
        connection.uploads.delete(message.invocationId)
        upload.end(message.error !== undefined ? new Error(message.error) : undefined)
        return
      }
      connection.settleClientResult(message.invocationId, message.result, message.error)
      return
    }
    case MessageType.CancelInvocation:
      connection.activeStreams.get(message.invocationId)?.abort()
      return
    case MessageType.Close:
      connection.transportClosed(message.error !== undefined ? new Error(message.error) : undefined)
      connection.sink?.close()
      return
    case MessageType.Ping:
    case MessageType.Ack:
    case MessageType.Sequence:
      // Stateful reconnect is not offered, so Ack and Sequence carry nothing for us.
      return
  }
}

function invoke(connection: HubConnection, message: InvocationMessage | StreamInvocationMessage): void {
  const runtime = connection.runtime
  const detailed = runtime.definition.detailedErrors === true
  const invocationId = message.invocationId
  const target = message.target
  const entry = runtime.lookup(target)
  const fail = (error: string) => {
    if (invocationId !== undefined) connection.send({ type: MessageType.Completion, invocationId, error })
  }
  if (!entry) {
    fail(`Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`)
    return
  }
  const streaming = message.type === MessageType.StreamInvocation
  if (streaming && entry.kind === 'method') {
    fail(`The client attempted to invoke the non-streaming '${entry.name}' method with a streaming invocation.`)
    return
  }
  if (!streaming && entry.kind === 'stream') {
    fail(`The client attempted to invoke the streaming '${entry.name}' method with a non-streaming invocation.`)
    return
  }
  // The parsed message is ours: its arguments are copied only to append upload streams.
  const args = message.streamIds ? [...message.arguments] : message.arguments
  for (const streamId of message.streamIds ?? []) {
    const channel = createChannel<unknown>()
    connection.uploads.set(streamId, channel)
    args.push(channel)
  }

  if (entry.kind === 'stream') {
    const id = invocationId as string
    const controller = new AbortController()
    connection.activeStreams.set(id, controller)
    const signal = AbortSignal.any([controller.signal, connection.controller.signal])
    void (async () => {
      let error: string | undefined
      try {
        const iterable = entry.fn(new MethodContext(connection, signal), ...args)
        const iterator = iterable[Symbol.asyncIterator]()
        const stopped = new Promise<'stopped'>((resolve) => signal.addEventListener('abort', () => resolve('stopped'), { once: true }))
        for (;;) {
          if (signal.aborted) break
          const next = await Promise.race([iterator.next(), stopped])
          if (next === 'stopped' || next.done) break
          connection.send({ type: MessageType.StreamItem, invocationId: id, item: next.value })
        }
        if (signal.aborted) void iterator.return?.()
      } catch (failure) {
        error = errorText('An error occurred on the server while streaming results.', failure, detailed)
      } finally {
        connection.activeStreams.delete(id)
      }
      connection.send(error === undefined ? { type: MessageType.Completion, invocationId: id } : { type: MessageType.Completion, invocationId: id, error })
    })()
    return
  }

  connection.enqueueInvocation(async () => {
    try {
      const result = await entry.fn(new MethodContext(connection), ...args)
      if (invocationId === undefined) return
      connection.send(result === undefined ? { type: MessageType.Completion, invocationId } : { type: MessageType.Completion, invocationId, result })
    } catch (failure) {
      if (invocationId === undefined) {
        runtime.logger.debug(`SignalR non-blocking '${target}' threw:`, failure)
        return
      }
      fail(errorText(`An unexpected error occurred invoking '${entry.name}' on the server.`, failure, detailed))
    }
  })
}
