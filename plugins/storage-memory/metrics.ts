// Metrics series in memory, tiered like the SQL stores (raw, 1-minute, 15-minute) with the same
// rollup watermarks, so both answer a query with the same points.
import { containerBucket, containerRows } from '../../lib/storage/container-history.ts'
import { hostFiguresOf } from '../../lib/storage/host-series.ts'
import { aggregate, chooseResolution, floorTo, queryRange, stepMs } from '../../lib/storage/metrics-tiers.ts'
import type { MetricsStore } from '../../lib/storage/store-parts.ts'
import type { MetricsPoint, MetricsResolution } from '../../lib/storage/types.ts'
import { copy, scoped, time } from './records.ts'
import { plugin, type MemoryState, type Series } from './state.ts'

const MINUTE = 60_000
const QUARTER = 15 * MINUTE
// 15-minute history goes a whole UTC day at a time, as in the SQL stores.
const DAY = 24 * 60 * MINUTE

function rollInto(source: Series, target: Series, from: number, to: number, step: number) {
  let n = 0
  for (const [node, points] of source) {
    const window = [...points.entries()].filter(([at]) => at >= from && at < to).map(([, p]) => p)
    if (window.length === 0) continue
    const dest = target.get(node) ?? new Map<number, MetricsPoint>()
    for (const point of aggregate(window, step)) {
      dest.set(time(point.at), point)
      n++
    }
    target.set(node, dest)
  }
  return n
}

function prune(tier: Series, before: number) {
  let n = 0
  for (const points of tier.values()) {
    for (const at of points.keys()) {
      if (at < before) {
        points.delete(at)
        n++
      }
    }
  }
  return n
}

export function createMemoryMetrics(state: MemoryState): MetricsStore {
  const { nodes, series, containerSeries, clock, retention } = state
  const rollup = { done1: 0, dirty1: Infinity, done15: 0 }
  return {
    async appendMetrics(accountId, samples) {
      let stored = 0
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
      // Stored as float4 like the SQL stores, so both answer with the same numbers.
      const f32 = (v: unknown) => Math.fround(num(v))
      const now = clock().toISOString()
      for (const s of samples) {
        const at = Date.parse(s.timestamp)
        const node = nodes.get(scoped(accountId, s.agentId))
        if (!node || !Number.isFinite(at)) continue
        const key = scoped(accountId, s.agentId)
        const raw = series.raw.get(key) ?? new Map<number, MetricsPoint>()
        series.raw.set(key, raw)
        if (!raw.has(at)) {
          const cpu = f32(s.cpuPercent)
          const figures = hostFiguresOf(s)
          const host = figures && Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.fround(v)]))
          raw.set(at, {
            at: new Date(at).toISOString(),
            cpuPercent: cpu,
            cpuMax: cpu,
            memoryUsedMb: f32(s.memoryUsedMB),
            memoryTotalMb: f32(s.memoryTotalMB),
            diskUsedGb: f32(s.diskUsedGB),
            diskTotalGb: f32(s.diskTotalGB),
            containersRunning: Math.max(0, Math.min(32767, Math.round(num(s.containersRunning)))),
            samples: 1,
            ...(host ? { host } : {}),
          })
          stored++
          if (at < rollup.done1) rollup.dirty1 = Math.min(rollup.dirty1, at)
        }
        const byName = containerSeries.get(key) ?? new Map<string, Map<number, { cpu: number | null; mem: number }>>()
        containerSeries.set(key, byName)
        for (const row of containerRows(s)) {
          const points = byName.get(row.name) ?? new Map<number, { cpu: number | null; mem: number }>()
          byName.set(row.name, points)
          const bucket = containerBucket(at)
          if (!points.has(bucket)) points.set(bucket, { cpu: row.cpu === null ? null : f32(row.cpu), mem: f32(row.mem) })
        }
        node.status = 'online'
        if (time(now) > time(node.lastSeenAt)) node.lastSeenAt = now
        const latest = node.lastMetrics?.timestamp
        if (typeof latest !== 'string' || Date.parse(latest) <= at) node.lastMetrics = copy({ ...s, timestamp: new Date(at).toISOString() })
      }
      return stored
    },

    async queryMetrics(accountId, nodeId, query) {
      const now = query.now ?? clock()
      const range = queryRange(query, plugin)
      const from = range.from.getTime()
      const to = range.to.getTime()
      const resolution = query.resolution ?? chooseResolution(new Date(from), new Date(to), now, retention)
      const step = stepMs[resolution]
      const key = scoped(accountId, nodeId)
      const pick = (tier: MetricsResolution, lo: number, hi: number) =>
        [...(series[tier].get(key)?.values() ?? [])].filter((p) => time(p.at) >= lo && time(p.at) <= to && time(p.at) < hi)
      let points: MetricsPoint[]
      if (resolution === 'raw') {
        points = pick('raw', from, Infinity).sort((a, b) => time(a.at) - time(b.at))
      } else {
        const start = floorTo(from, step)
        const parts =
          resolution === '15m'
            ? [...pick('15m', start, rollup.done15), ...pick('1m', Math.max(start, rollup.done15), rollup.done1)]
            : pick('1m', start, rollup.done1)
        points = aggregate([...parts, ...pick('raw', Math.max(start, rollup.done1), Infinity)], step)
      }
      return { nodeId, resolution, stepMs: step, points: copy(points) }
    },

    async queryContainerMetrics(accountId, nodeId, query) {
      const range = queryRange(query, plugin)
      const from = range.from.getTime()
      const to = range.to.getTime()
      const byName = containerSeries.get(scoped(accountId, nodeId)) ?? new Map()
      return [...byName.entries()]
        .filter(([name]) => query.container === undefined || name === query.container)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, points]) => ({
          name,
          points: [...points.entries()].filter(([at]) => at >= from && at <= to).sort(([a], [b]) => a - b).map(([at, p]) => ({ at: new Date(at).toISOString(), cpuPercent: p.cpu, memoryMb: p.mem })),
        }))
        .filter((s) => s.points.length > 0)
    },

    async maintainMetrics(now = clock()) {
      const t = now.getTime()
      const to1 = floorTo(t, MINUTE)
      const from1 = Math.max(floorTo(Math.min(rollup.done1, rollup.dirty1), MINUTE), Math.ceil((t - retention.rawMs) / MINUTE) * MINUTE)
      let rolledUp = 0
      if (from1 < to1) rolledUp += rollInto(series.raw, series['1m'], from1, to1, MINUTE)
      const to15 = floorTo(to1, QUARTER)
      const from15 = Math.max(floorTo(Math.min(rollup.done15, from1), QUARTER), Math.ceil((t - retention.minuteMs) / QUARTER) * QUARTER)
      if (from15 < to15) rolledUp += rollInto(series['1m'], series['15m'], from15, to15, QUARTER)
      rollup.done1 = Math.max(rollup.done1, to1)
      rollup.dirty1 = Infinity
      rollup.done15 = Math.max(rollup.done15, to15)
      let pruned = prune(series.raw, t - retention.rawMs) + prune(series['1m'], t - retention.minuteMs) + prune(series['15m'], floorTo(t - retention.quarterHourMs, DAY))
      for (const byName of containerSeries.values()) {
        for (const [name, points] of byName) {
          for (const at of points.keys()) {
            if (at >= t - retention.rawMs) continue
            points.delete(at)
            pruned++
          }
          if (points.size === 0) byName.delete(name)
        }
      }
      return { rolledUp, pruned }
    },
  }
}
