// Login throttling. A guess counts from the moment it starts, so parallel guesses cannot all slip in
// before the first failure is recorded. Failures are counted per user and address: a stranger
// guessing from elsewhere does not lock the owner out. Past a user-wide cap (guesses spread over many
// addresses), only addresses with no failure for that user may still try, once each per window.

export interface Throttle {
  /** Milliseconds until this user may try from this address; 0 when they may try now. */
  retryAfter(user: string, address: string | undefined): number
  /** Marks a guess under way; call `done` with whether it succeeded. */
  begin(user: string, address: string | undefined): { done(ok: boolean): void }
}

export interface ThrottleOptions {
  /** Failures for one user from one address within the window. */
  maxFailures: number
  windowMs: number
  /** Failures for one user from all addresses (default 10 × maxFailures). */
  maxUserFailures?: number
  /** Failures from one address for all users (default 4 × maxFailures). */
  maxAddressFailures?: number
}

interface Counter {
  times: number[]
  pending: number
}

const MAX_KEYS = 20_000

export function createThrottle(options: ThrottleOptions): Throttle {
  const counters = new Map<string, Counter>()
  const userCap = options.maxUserFailures ?? options.maxFailures * 10
  const addressCap = options.maxAddressFailures ?? options.maxFailures * 4

  const counter = (key: string, now: number): Counter => {
    let entry = counters.get(key)
    if (!entry) {
      entry = { times: [], pending: 0 }
      counters.set(key, entry)
      // Bound memory under a spray of usernames and addresses.
      if (counters.size > MAX_KEYS) {
        for (const [old, value] of counters) {
          if (value.pending === 0) {
            counters.delete(old)
            break
          }
        }
      }
    }
    entry.times = entry.times.filter((t) => now - t < options.windowMs)
    return entry
  }
  const wait = (entry: Counter, cap: number, now: number) => {
    const used = entry.times.length + entry.pending
    if (used < cap) return 0
    const oldest = entry.times[Math.max(0, entry.times.length - cap)]
    return Math.max(1, oldest === undefined ? options.windowMs : options.windowMs - (now - oldest))
  }
  const keys = (user: string, address: string | undefined) => {
    const name = user.toLowerCase()
    const from = address ?? 'unknown'
    return { pair: `p:${name}|${from}`, user: `u:${name}`, address: `a:${from}` }
  }

  const retryAfter = (user: string, address: string | undefined) => {
    const now = Date.now()
    const k = keys(user, address)
    const pair = counter(k.pair, now)
    const pairWait = wait(pair, options.maxFailures, now)
    const addressWait = wait(counter(k.address, now), addressCap, now)
    const userWide = wait(counter(k.user, now), userCap, now)
    // Past the user-wide cap an address that has never failed for this user keeps one try.
    const userWait = userWide > 0 && (pair.times.length > 0 || pair.pending > 0) ? userWide : 0
    return Math.max(pairWait, addressWait, userWait)
  }

  return {
    retryAfter,
    begin(user, address) {
      const now = Date.now()
      const k = keys(user, address)
      const entries = [counter(k.pair, now), counter(k.user, now), counter(k.address, now)]
      for (const entry of entries) entry.pending += 1
      let settled = false
      return {
        done(ok) {
          if (settled) return
          settled = true
          const at = Date.now()
          for (const entry of entries) {
            entry.pending -= 1
            if (!ok) entry.times.push(at)
          }
          if (ok) counters.delete(k.pair)
        },
      }
    },
  }
}
