// Durations as users write them in CLI flags and stack healthchecks: one parser, in core.
import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../core/index.ts'

describe('parseDuration', () => {
  it('reads one unit, from milliseconds to days', () => {
    expect(['500ms', '5s', '10m', '24h', '7d'].map(parseDuration)).toEqual([500, 5000, 600_000, 86_400_000, 604_800_000])
  })

  it('adds up parts the way Compose writes them', () => {
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('1h0m0.5s')).toBe(3_600_500)
  })

  it('counts seconds for a number or a string without a unit', () => {
    expect(parseDuration(30)).toBe(30_000)
    expect(parseDuration('30')).toBe(30_000)
    expect(parseDuration(' 2.5 ')).toBe(2500)
  })

  it('allows a space before the unit and rounds to whole milliseconds', () => {
    expect(parseDuration('5 s')).toBe(5000)
    expect(parseDuration('1.6ms')).toBe(2)
  })

  it('refuses what is not a duration', () => {
    for (const value of ['', 'soon', '1x', 'm', '1m30', '-5s', '1m 30s', -1, Number.NaN, Number.POSITIVE_INFINITY, null, {}]) {
      expect(parseDuration(value), JSON.stringify(value)).toBeUndefined()
    }
  })
})
