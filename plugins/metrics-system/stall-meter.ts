// Measures how late timers fire while some async work runs: the event-loop stall that work caused.
export interface StallMeter {
  /** Runs `work`, returning its result and the longest timer delay seen meanwhile, in ms. */
  measure<T>(work: () => Promise<T>): Promise<{ value: T; stallMs: number }>
}

export function createStallMeter(tickMs = 5): StallMeter {
  return {
    async measure(work) {
      let worst = 0
      let expected = performance.now() + tickMs
      const timer = setInterval(() => {
        const now = performance.now()
        worst = Math.max(worst, now - expected)
        expected = now + tickMs
      }, tickMs)
      try {
        const value = await work()
        // The last tick may be the one the stall delayed.
        worst = Math.max(worst, performance.now() - expected)
        return { value, stallMs: Math.max(0, Math.round(worst * 10) / 10) }
      } finally {
        clearInterval(timer)
      }
    },
  }
}
