// A mapped hub: its method table, connections, groups and the proxies used to reach clients.
import { dispatchMessage } from './dispatcher.ts'
import { createGroupIndex } from './groups.ts'
import { MessageType, writeHubMessage } from './hub-protocol.ts'
import type { HubConnection, HubRuntime, LoggerLike } from './connection.ts'
import type { ClientProxy, ConnectionInfo, Hub, HubDefinition, SingleClientProxy } from './types.ts'

export function createHubRuntime<P>(
  path: string,
  definition: HubDefinition<P>,
  options: { maxMessageSize: number; logger: LoggerLike; released(connection: HubConnection): void },
): HubRuntime {
  const table = new Map<string, { kind: 'method' | 'stream'; name: string; fn: never }>()
  for (const [name, fn] of Object.entries(definition.methods ?? {})) table.set(name.toLowerCase(), { kind: 'method', name, fn: fn as never })
  for (const [name, fn] of Object.entries(definition.streams ?? {})) table.set(name.toLowerCase(), { kind: 'stream', name, fn: fn as never })
  const connections = new Map<string, HubConnection>()
  const groups = createGroupIndex()
  let invocationCounter = 0

  const info = (connection: HubConnection): ConnectionInfo<P> => ({
    connectionId: connection.connectionId,
    principal: connection.principal as P,
    transport: connection.transport,
    items: connection.items,
  })

  // Serialise once, write to many: broadcasts cost one JSON.stringify.
  const sendTo = (ids: Iterable<string>, target: string, args: unknown[], except?: Set<string>) => {
    const text = writeHubMessage({ type: MessageType.Invocation, target, arguments: args })
    for (const id of ids) {
      if (except?.has(id)) continue
      connections.get(id)?.write(text)
    }
  }
  const proxy = (ids: () => Iterable<string>, except?: Iterable<string>): ClientProxy => ({
    send: (target, ...args) => sendTo(ids(), target, args, except ? new Set(except) : undefined),
  })

  const handle: Hub<P> = {
    path,
    clients: {
      all: proxy(() => connections.keys()),
      client(connectionId): SingleClientProxy {
        return {
          send: (target, ...args) => sendTo([connectionId], target, args),
          invoke<T>(target: string, args: unknown[], invokeOptions?: { timeoutMs?: number }): Promise<T> {
            const connection = connections.get(connectionId)
            if (!connection) return Promise.reject(new Error(`No SignalR connection ${connectionId} on ${path}.`))
            return connection.invokeClient(target, args, invokeOptions?.timeoutMs) as Promise<T>
          },
        }
      },
      clients: (ids) => proxy(() => ids),
      allExcept: (ids) => proxy(() => connections.keys(), ids),
      group: (name) => proxy(() => groups.members(name)),
      groupExcept: (name, ids) => proxy(() => groups.members(name), ids),
      user: (userId) =>
        proxy(function* () {
          if (!definition.userId) return
          for (const connection of connections.values()) {
            if (definition.userId(connection.principal as P) === userId) yield connection.connectionId
          }
        }),
    },
    groups: {
      add(connectionId, group) {
        if (connections.has(connectionId)) groups.add(connectionId, group)
      },
      remove: (connectionId, group) => groups.remove(connectionId, group),
      of: (connectionId) => groups.groupsOf(connectionId),
      members: (group) => groups.members(group),
    },
    connection(connectionId) {
      const connection = connections.get(connectionId)
      return connection ? info(connection) : undefined
    },
    *connections() {
      for (const connection of connections.values()) yield info(connection)
    },
    get connectionCount() {
      return connections.size
    },
    abort(connectionId, error, abortOptions) {
      connections.get(connectionId)?.close(error, abortOptions?.allowReconnect)
    },
  }

  return {
    path,
    definition: definition as HubDefinition<unknown>,
    handle: handle as Hub<unknown>,
    connections,
    groups,
    lookup: (target) => table.get(target.toLowerCase()) as ReturnType<HubRuntime['lookup']>,
    nextServerInvocationId: () => `s${invocationCounter++}`,
    maxMessageSize: options.maxMessageSize,
    logger: options.logger,
    dispatch: dispatchMessage,
    released: options.released,
  }
}
