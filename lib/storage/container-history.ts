// Per-container usage history (issue #13), bounded the same way in every store: at most
// CONTAINERS_PER_SAMPLE containers of a sample, one point per container and minute (the first sample
// of the minute wins), kept as long as raw samples (`retention.rawMs`, 24 h by default). A node with
// 100 containers thus holds at most 144,000 points.
import type { MetricsSampleInput } from './types.ts'

export const CONTAINERS_PER_SAMPLE = 100
export const CONTAINER_STEP_MS = 60_000
const NAME_MAX = 128

export interface ContainerUsageRow {
  name: string
  /** Percent of one core; null when the agent had no earlier reading to compare with. */
  cpu: number | null
  mem: number
}

/** The containers of a sample worth keeping: named, with a memory figure, at most CONTAINERS_PER_SAMPLE. */
export function containerRows(sample: MetricsSampleInput): ContainerUsageRow[] {
  const list = Array.isArray(sample.containers) ? sample.containers : []
  const rows: ContainerUsageRow[] = []
  const seen = new Set<string>()
  for (const c of list) {
    if (rows.length >= CONTAINERS_PER_SAMPLE) break
    if (typeof c !== 'object' || c === null) continue
    const { name, cpuPercent, memoryMB } = c as Record<string, unknown>
    if (typeof name !== 'string' || name === '' || name.length > NAME_MAX || seen.has(name)) continue
    if (typeof memoryMB !== 'number' || !Number.isFinite(memoryMB) || memoryMB < 0) continue
    seen.add(name)
    rows.push({ name, cpu: typeof cpuPercent === 'number' && Number.isFinite(cpuPercent) && cpuPercent >= 0 ? cpuPercent : null, mem: memoryMB })
  }
  return rows
}

/** The minute a sample's container points are filed under. */
export const containerBucket = (at: number): number => Math.floor(at / CONTAINER_STEP_MS) * CONTAINER_STEP_MS
