// The metrics series' resolutions and retention, and the rule that picks a resolution for a query:
// shared by every store so they answer the same question with the same points.
import { ThreshError } from '../../core/index.ts'
import { addHostFigures, averageHostFigures } from './host-series.ts'
import type { MetricsPoint, MetricsQuery, MetricsResolution, MetricsRetention } from './types.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export const defaultRetention: MetricsRetention = { rawMs: DAY, minuteMs: 7 * DAY, quarterHourMs: 90 * DAY }

export const stepMs: Record<MetricsResolution, number> = { raw: 0, '1m': MINUTE, '15m': 15 * MINUTE }

/** Longest span served at each resolution: keeps a response near 1,000-3,000 points. */
const maxSpanMs: Record<MetricsResolution, number> = { raw: 6 * HOUR, '1m': 2 * DAY, '15m': Infinity }

export function resolveRetention(partial: Partial<MetricsRetention> = {}): MetricsRetention {
  return { ...defaultRetention, ...partial }
}

function retentionOf(resolution: MetricsResolution, retention: MetricsRetention): number {
  return resolution === 'raw' ? retention.rawMs : resolution === '1m' ? retention.minuteMs : retention.quarterHourMs
}

/** The finest resolution that still holds data at `from` and keeps the span's point count sane. */
export function chooseResolution(from: Date, to: Date, now: Date, retention: MetricsRetention): MetricsResolution {
  const span = to.getTime() - from.getTime()
  for (const resolution of ['raw', '1m'] as const) {
    if (span <= maxSpanMs[resolution] && from.getTime() >= now.getTime() - retentionOf(resolution, retention)) return resolution
  }
  return '15m'
}

export function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step
}

export interface SampleRow {
  at: number
  cpu: number
  memUsed: number
  memTotal: number
  diskUsed: number
  diskTotal: number
  containers: number
}

/** Aggregates points (raw samples have samples = 1) into buckets of `step`, weighting by sample count. */
export function aggregate(points: MetricsPoint[], step: number): MetricsPoint[] {
  const buckets = new Map<number, { n: number; cpu: number; max: number; mu: number; mt: number; du: number; dt: number; c: number; host: Map<string, { sum: number; n: number }> }>()
  for (const p of points) {
    const key = floorTo(Date.parse(p.at), step)
    const b = buckets.get(key) ?? { n: 0, cpu: 0, max: -Infinity, mu: 0, mt: 0, du: 0, dt: 0, c: 0, host: new Map() }
    const n = p.samples
    b.n += n
    b.cpu += p.cpuPercent * n
    b.max = Math.max(b.max, p.cpuMax)
    b.mu += p.memoryUsedMb * n
    b.mt += p.memoryTotalMb * n
    b.du += p.diskUsedGb * n
    b.dt += p.diskTotalGb * n
    b.c += p.containersRunning * n
    addHostFigures(b.host, p.host, n)
    buckets.set(key, b)
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at, b]) => {
      const host = averageHostFigures(b.host)
      return {
        at: new Date(at).toISOString(),
        cpuPercent: b.cpu / b.n,
        cpuMax: b.max,
        memoryUsedMb: b.mu / b.n,
        memoryTotalMb: b.mt / b.n,
        diskUsedGb: b.du / b.n,
        diskTotalGb: b.dt / b.n,
        containersRunning: b.c / b.n,
        samples: b.n,
        ...(host ? { host } : {}),
      }
    })
}

/** The query's range as times, or a 400 naming what is wrong. */
export function queryRange(query: MetricsQuery, plugin: string): { from: Date; to: Date } {
  const from = new Date(query.from)
  const to = new Date(query.to)
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    throw new ThreshError({ code: 'invalid_input', status: 400, plugin, message: 'Metrics queries need `from` and `to` as ISO-8601 times.' })
  }
  if (query.resolution !== undefined && !(query.resolution in stepMs)) {
    throw new ThreshError({ code: 'invalid_input', status: 400, plugin, message: 'The resolution must be raw, 1m or 15m.' })
  }
  return { from, to }
}
