// A typed, synchronous event bus: fire-and-forget notifications between plugins.

export type EventHandler<T> = (payload: T) => void

export interface EventBus<Events extends object> {
  on<K extends keyof Events>(name: K, handler: EventHandler<Events[K]>): () => void
  once<K extends keyof Events>(name: K, handler: EventHandler<Events[K]>): () => void
  emit<K extends keyof Events>(name: K, payload: Events[K]): void
}

export function createEventBus<Events extends object>(
  onHandlerError: (name: PropertyKey, error: unknown) => void = () => {},
): EventBus<Events> {
  const handlers = new Map<keyof Events, Set<EventHandler<never>>>()

  const on = <K extends keyof Events>(name: K, handler: EventHandler<Events[K]>) => {
    let set = handlers.get(name)
    if (!set) handlers.set(name, (set = new Set()))
    set.add(handler as EventHandler<never>)
    return () => void set.delete(handler as EventHandler<never>)
  }

  return {
    on,
    once(name, handler) {
      const off = on(name, (payload) => {
        off()
        handler(payload)
      })
      return off
    },
    emit(name, payload) {
      const set = handlers.get(name)
      if (!set) return
      // A failing listener must not stop the others, nor the emitter.
      for (const handler of [...set]) {
        try {
          ;(handler as EventHandler<typeof payload>)(payload)
        } catch (error) {
          onHandlerError(name, error)
        }
      }
    },
  }
}
