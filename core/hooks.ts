// Typed, awaited hooks: extension points where the caller waits for every handler in order.

type AnyHook = (...args: never[]) => unknown

export interface Hooks<HookMap extends object> {
  hook<K extends keyof HookMap>(name: K, handler: HookMap[K]): () => void
  callHook<K extends keyof HookMap>(
    name: K,
    ...args: HookMap[K] extends AnyHook ? Parameters<HookMap[K]> : never
  ): Promise<void>
}

export function createHooks<HookMap extends object>(): Hooks<HookMap> {
  const handlers = new Map<keyof HookMap, AnyHook[]>()
  return {
    hook(name, handler) {
      const list = handlers.get(name) ?? []
      list.push(handler as AnyHook)
      handlers.set(name, list)
      return () => {
        const index = list.indexOf(handler as AnyHook)
        if (index >= 0) list.splice(index, 1)
      }
    },
    async callHook(name, ...args) {
      for (const handler of [...(handlers.get(name) ?? [])]) await handler(...(args as never[]))
    },
  }
}
