// Jittered retry delays, so a fleet of agents does not come back at the same instant after a restart.

/** Full jitter around a capped exponential base: a random delay in [base/2, base]. */
export function jitteredDelay(attempt: number, baseMs = 1000, maxMs = 30_000, random: () => number = Math.random): number {
  const base = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16))
  return Math.round(base / 2 + random() * (base / 2))
}
