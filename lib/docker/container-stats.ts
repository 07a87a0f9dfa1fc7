// One container's CPU, memory and network from Docker's stats (`stream=false`), and a bounded
// concurrent map so a node with hundreds of containers is asked a few at a time.

/** The parts of Docker's stats answer read here. */
export interface RawStats {
  read?: string
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number }
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number }
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> }
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>
}

export interface CpuCounter {
  total: number
  system: number
}

export interface ContainerUsage {
  /** Percent of one core (200 = two cores busy), as `docker stats` shows it; undefined without a previous reading. */
  cpuPercent?: number
  memoryMB: number
  memoryLimitMB: number
  netRxBytes: number
  netTxBytes: number
}

const MB = 1024 * 1024
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

export function cpuCounter(stats: RawStats): CpuCounter | undefined {
  const total = stats.cpu_stats?.cpu_usage?.total_usage
  const system = stats.cpu_stats?.system_cpu_usage
  return typeof total === 'number' && typeof system === 'number' ? { total, system } : undefined
}

/**
 * Usage from one stats answer; the CPU share over the time since `previous` (an earlier reading of
 * the same container), else since the `precpu_stats` Docker includes when not asked for one-shot.
 */
export function usageOf(stats: RawStats, previous?: CpuCounter): ContainerUsage {
  const now = cpuCounter(stats)
  const pre = stats.precpu_stats
  const before = previous ?? (typeof pre?.cpu_usage?.total_usage === 'number' && typeof pre.system_cpu_usage === 'number' && pre.system_cpu_usage > 0 ? { total: pre.cpu_usage.total_usage, system: pre.system_cpu_usage } : undefined)
  const cpus = stats.cpu_stats?.online_cpus || stats.cpu_stats?.cpu_usage?.percpu_usage?.length || 1
  let cpuPercent: number | undefined
  if (now && before && now.system > before.system && now.total >= before.total) cpuPercent = round(((now.total - before.total) / (now.system - before.system)) * cpus * 100, 2)
  const mem = stats.memory_stats ?? {}
  // As the docker CLI: page cache the kernel can drop is not the container's use.
  const cache = mem.stats?.inactive_file ?? mem.stats?.total_inactive_file ?? 0
  const used = Math.max(0, (mem.usage ?? 0) - cache)
  let rx = 0
  let tx = 0
  for (const net of Object.values(stats.networks ?? {})) {
    rx += net.rx_bytes ?? 0
    tx += net.tx_bytes ?? 0
  }
  return { ...(cpuPercent !== undefined ? { cpuPercent } : {}), memoryMB: round(used / MB), memoryLimitMB: round((mem.limit ?? 0) / MB), netRxBytes: rx, netTxBytes: tx }
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return results
}
