// What the agent could not send yet (metrics, status updates), kept in order and bounded: when full
// the oldest item is dropped and counted, so a long outage costs old samples, never memory.
export interface Outbox<T> {
  push(item: T): void
  /** Sends items oldest first until one fails or the box is empty; one drain at a time. */
  drain(send: (item: T) => Promise<void>): Promise<void>
  readonly size: number
  readonly dropped: number
}

export function createOutbox<T>(limit: number): Outbox<T> {
  const items: T[] = []
  let dropped = 0
  let draining: Promise<void> | undefined
  return {
    push(item) {
      items.push(item)
      while (items.length > limit) {
        items.shift()
        dropped++
      }
    },
    drain(send) {
      if (draining) return draining
      if (items.length === 0) return Promise.resolve()
      const run = async () => {
        try {
          while (items.length > 0) {
            const item = items[0]!
            await send(item)
            // A push during the send may have dropped this very item already.
            if (items[0] === item) items.shift()
          }
        } catch {
          // Kept for the next drain.
        }
      }
      // Cleared only after the assignment, so a drain that finishes at once cannot leave it set.
      const current = run().finally(() => {
        if (draining === current) draining = undefined
      })
      draining = current
      return current
    },
    get size() {
      return items.length
    },
    get dropped() {
      return dropped
    },
  }
}
