// Durations as people and Compose files write them (`90s`, `1m30s`, `7d`), for config, CLI flags and
// stack healthchecks. It imports nothing, so the dashboard's in-browser stack validator loads it as is.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Whole milliseconds from a duration, or undefined when it is not one.
 * A number, or a string without a unit, counts seconds; parts add up as in Compose (`1m30s`).
 * @example
 * parseDuration('1m30s') // 90_000
 * parseDuration('500ms') // 500
 * parseDuration(30)      // 30_000
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (text === '') return undefined
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/y
  let total = 0
  while (part.lastIndex < text.length) {
    const match = part.exec(text)
    if (!match) return undefined
    total += Number(match[1]) * UNIT_MS[match[2]!]!
  }
  return Math.round(total)
}

/** The shortest exact text for a duration: 300000 -> `5m`, 1500 -> `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
