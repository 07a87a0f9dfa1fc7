// Wake-ups between hub processes that share one store: PostgreSQL's LISTEN/NOTIFY where hubs can
// share a database, plain in-process delivery for the memory and embedded stores (one hub each).
import type { FleetStore } from './types.ts'

export type Unlisten = () => Promise<void>

export interface ListenOptions {
  /**
   * Called each time listening is (again) in effect: once at start, and after the connection to the
   * database was lost and came back. Notifications sent while it was away are lost (PostgreSQL keeps
   * none for a listener that was not there), so a consumer re-reads whatever state it follows here.
   */
  onReady?: () => void
}

/**
 * Publish/subscribe on named channels of the store. Payloads are strings of any length (the
 * PostgreSQL one splits what does not fit one NOTIFY and joins it again). Every listener receives
 * every payload published on its channel, including its own process's: put an origin in the
 * payload when a listener must skip its own.
 *
 * Delivery is at most once and best effort: use it to wake a process up or to fan out a live view,
 * with the durable truth in a table.
 */
export interface StoreNotifications {
  /** True when other processes on the same store hear what this one publishes (PostgreSQL). */
  readonly shared: boolean
  /** Sends `payload` to every listener of `channel` (in every process on this store). */
  publish(channel: string, payload: string): Promise<void>
  /** Calls `onPayload` for each payload on `channel`; resolves once listening is in effect. */
  listen(channel: string, onPayload: (payload: string) => void, options?: ListenOptions): Promise<Unlisten>
  /**
   * PostgreSQL only: the `pg_notify` channel and payload with which a SQL statement of the store
   * reaches the listeners of `channel`, so a wake-up sent in the same statement as the row it points
   * at is delivered at that statement's commit. Throws when `payload` does not fit one NOTIFY.
   */
  inStatement?(channel: string, payload: string): { channel: string; payload: string }
  /** Stops every listener (the store's `close` calls it). */
  close(): Promise<void>
}

/** Delivery inside this process only: for stores that one hub process holds alone. */
export function createLocalNotifications(): StoreNotifications {
  const channels = new Map<string, Set<(payload: string) => void>>()
  return {
    shared: false,
    async publish(channel, payload) {
      // Asynchronous like a database round trip, so a publisher never runs its listeners re-entrantly.
      const listeners = [...(channels.get(channel) ?? [])]
      if (listeners.length) queueMicrotask(() => listeners.forEach((fn) => fn(payload)))
    },
    async listen(channel, onPayload, options) {
      const set = channels.get(channel) ?? new Set()
      channels.set(channel, set)
      const listener = (payload: string) => onPayload(payload)
      set.add(listener)
      options?.onReady?.()
      return async () => {
        set.delete(listener)
        if (set.size === 0) channels.delete(channel)
      }
    },
    async close() {
      channels.clear()
    },
  }
}

const localByStore = new WeakMap<FleetStore, StoreNotifications>()

/**
 * The store's notifications: its own (PostgreSQL) or one in-process instance per store, so every
 * plugin of a hub that asks for the same store's notifications talks on the same channels.
 */
export function notificationsOf(store: FleetStore): StoreNotifications {
  if (store.notifications) return store.notifications
  let local = localByStore.get(store)
  if (!local) localByStore.set(store, (local = createLocalNotifications()))
  return local
}
