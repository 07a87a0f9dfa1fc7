// Login throttling: too many failures for one username (or from one address) within a window
// locks further attempts until the window has passed.

export interface Throttle {
  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfter(key: string): number
  fail(key: string): void
  succeed(key: string): void
}

export function createThrottle(options: { maxFailures: number; windowMs: number }): Throttle {
  const failures = new Map<string, number[]>()
  const recent = (key: string, now: number) => {
    const list = (failures.get(key) ?? []).filter((t) => now - t < options.windowMs)
    if (list.length === 0) failures.delete(key)
    else failures.set(key, list)
    return list
  }
  return {
    retryAfter(key) {
      const now = Date.now()
      const list = recent(key, now)
      if (list.length < options.maxFailures) return 0
      return Math.max(1, options.windowMs - (now - list[list.length - options.maxFailures]!))
    },
    fail(key) {
      const now = Date.now()
      const list = recent(key, now)
      list.push(now)
      failures.set(key, list)
      // Bound memory under a spray of usernames.
      if (failures.size > 10_000) failures.delete(failures.keys().next().value as string)
    },
    succeed(key) {
      failures.delete(key)
    },
  }
}
