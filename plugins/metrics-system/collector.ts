// Takes one MetricsData sample of this node without stalling the event loop: CPU from os.cpus()
// deltas; memory and disks on Linux from /proc and statfs (linux-proc.ts), elsewhere from
// systeminformation (loaded on first use) and an async `df`; containers from the Docker socket.
// systeminformation's currentLoad() and fsSize() run execSync on Linux, so they are not used.
import { execFile } from 'node:child_process'
import os from 'node:os'
import process from 'node:process'
import type { MetricsData } from '../../lib/agent-session/protocol.ts'
import { cpuCounter, mapBounded, usageOf, type CpuCounter, type RawStats } from '../../lib/docker/container-stats.ts'
import type { DockerApi } from '../../lib/docker/engine-api.ts'
import { createCgroupReader } from './cgroup-usage.ts'
import { createHostExtras } from './host-extras.ts'
import { readDfRows, readMemory, type DfRow } from './linux-proc.ts'

export interface DiskUsage {
  mount: string
  usedGB: number
  totalGB: number
}

/** MetricsData plus what the seeds' dashboards show beside it. */
export interface SystemMetrics extends MetricsData {
  containers: ContainerSample[]
  hostname: string
  platform: string
  versions: Record<string, string>
}

export interface StaticInfo {
  cpuCores: number
  ramTotalGb: number
  diskTotalGb: number
  versions: Record<string, string>
  containerRuntime: string
}

export interface SystemCollector {
  collect(): Promise<SystemMetrics>
  staticInfo(): Promise<StaticInfo>
}

type CpuTimes = { idle: number; total: number }

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits
const GB = 1024 ** 3

function cpuTimes(): CpuTimes[] {
  return os.cpus().map(({ times }) => ({ idle: times.idle, total: times.user + times.nice + times.sys + times.idle + times.irq }))
}

function busyPercent(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total
  if (total <= 0) return 0
  return round(Math.min(100, Math.max(0, 100 * (1 - (after.idle - before.idle) / total))), 1)
}

// Pseudo and per-container filesystems say nothing about the node's storage.
const SKIP_TYPES = new Set(['tmpfs', 'devtmpfs', 'squashfs', 'overlay', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'nsfs', 'efivarfs', 'ramfs'])

/** The rows of `df -kPT` output (mount points may hold spaces). */
export function parseDfRows(stdout: string): DfRow[] {
  const rows: DfRow[] = []
  for (const line of stdout.split('\n').slice(1)) {
    // Filesystem Type 1024-blocks Used Available Capacity Mounted-on
    const parts = line.trim().split(/\s+/)
    if (parts.length < 7) continue
    const [device, type, blocks, used] = parts as [string, string, string, string]
    rows.push({ device, type, blocksK: Number(blocks), usedK: Number(used), mount: parts.slice(6).join(' ') })
  }
  return rows
}

/** The disks a user means among df's rows. */
export function disksFromRows(rows: DfRow[]): DiskUsage[] {
  const disks: DiskUsage[] = []
  const seen = new Set<string>()
  for (const { device, type, blocksK, usedK, mount } of rows) {
    if ((SKIP_TYPES.has(type) && mount !== '/') || mount.startsWith('/var/lib/docker/') || mount.startsWith('/run/') || seen.has(device + mount)) continue
    // Docker bind-mounts single files (/etc/hosts, /etc/resolv.conf) from the host disk: not mounts a user means.
    if (/^\/etc\/(hosts|hostname|resolv\.conf)$/.test(mount)) continue
    seen.add(device + mount)
    disks.push({ mount, usedGB: round((usedK * 1024) / GB), totalGB: round((blocksK * 1024) / GB) })
  }
  return disks
}

export function parseDf(stdout: string): DiskUsage[] {
  return disksFromRows(parseDfRows(stdout))
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, LC_ALL: 'C' }, timeout: 10_000, maxBuffer: 1024 * 1024 }, (_error, stdout) => resolve(String(stdout ?? '')))
  })
}

export async function diskUsage(): Promise<DiskUsage[]> {
  if (process.platform === 'linux') {
    try {
      const rows = readDfRows()
      if (rows) return disksFromRows(rows)
    } catch {
      // No /proc or no statfs (a sandbox, an old runtime): df below.
    }
  }
  return parseDf(await run('df', ['-kPT']))
}

/**
 * One running container in MetricsData.containers: the original agent's `{name, status}` entries,
 * with CPU (percent of one core, over the last interval) and memory when Docker's stats answered.
 */
export interface ContainerSample {
  name: string
  id: string
  image: string
  state: string
  cpuPercent?: number
  memoryMB?: number
}

/** Usage is read for at most this many containers per sample, a few at a time. */
export const MAX_SAMPLED_CONTAINERS = 200
const STATS_CONCURRENCY = 8
/** How long a sample may wait for Docker's stats (containers whose cgroup the agent cannot read). */
const STATS_BUDGET_MS = 3000

export interface CollectorOptions {
  /** The Docker Engine API for running containers and the engine version; undefined leaves them out. */
  docker?: DockerApi
  /**
   * Each running container's CPU and memory come from its cgroup files in every sample; where the
   * agent cannot see them, from Docker's one-shot stats at most once per this many ms (samples in
   * between list those containers without usage). 0 turns per-container usage off; undefined asks
   * Docker in every sample.
   */
  containerStatsIntervalMs?: number
  /** Read usage from the containers' cgroup files when visible (default true); false always asks Docker. */
  cgroups?: boolean
  threshVersion: string
  runtime: { name: string; version: string }
}

export function createSystemCollector(options: CollectorOptions): SystemCollector {
  let previous = cpuTimes()
  const host = createHostExtras()
  let dockerVersion: Promise<string | undefined> | undefined
  let si: Promise<typeof import('systeminformation')> | undefined
  const systeminformation = () => (si ??= import('systeminformation').then((m) => ((m as { default?: unknown }).default ?? m) as typeof import('systeminformation')))

  const versionOfDocker = () =>
    (dockerVersion ??= (async () => {
      try {
        return options.docker ? String((await options.docker.get<{ Version: string }>('/version')).Version) : undefined
      } catch {
        dockerVersion = undefined
        return undefined
      }
    })())

  // Per-container CPU is the share since this collector's previous reading of that container.
  const counters = new Map<string, CpuCounter>()
  const cgroups = process.platform === 'linux' && options.cgroups !== false ? createCgroupReader() : undefined
  const cgroupReadings = new Map<string, { cpuNs: number; at: number }>()
  // Docker's stats API (for containers whose cgroup files the agent cannot see) at most every
  // containerStatsIntervalMs, with a second of slack: samples come one interval after the previous one finished.
  let statsAt = -Infinity
  const apiDue = () => options.containerStatsIntervalMs === undefined || Date.now() - statsAt >= options.containerStatsIntervalMs - 1000
  const containers = async (): Promise<{ list: ContainerSample[]; stacks: number }> => {
    if (!options.docker) return { list: [], stacks: 0 }
    const docker = options.docker
    try {
      const listed = await docker.get<Array<{ Id: string; Names?: string[]; Image?: string; State?: string; Labels?: Record<string, string> }>>('/containers/json')
      const stacks = new Set(listed.map((c) => c.Labels?.['thresh.stack']).filter(Boolean))
      const sampled = options.containerStatsIntervalMs === 0 ? [] : listed.slice(0, MAX_SAMPLED_CONTAINERS)
      const askDocker = apiDue()
      const started = Date.now()
      let askedDocker = false
      const usage = await mapBounded(sampled, STATS_CONCURRENCY, async (c): Promise<{ cpuPercent?: number; memoryMB: number } | undefined> => {
        // The cgroup files when the agent can see them (cheap), else Docker's one-shot stats. Each
        // container's synchronous reads run in a turn of their own, so a big node never stalls the loop.
        if (cgroups) await new Promise((r) => setImmediate(r))
        const reading = cgroups?.read(c.Id)
        if (reading) {
          const at = Number(process.hrtime.bigint())
          const before = cgroupReadings.get(c.Id)
          cgroupReadings.set(c.Id, { cpuNs: reading.cpuNs, at })
          const cpuPercent = before && at > before.at && reading.cpuNs >= before.cpuNs ? round((100 * (reading.cpuNs - before.cpuNs)) / (at - before.at)) : undefined
          return { ...(cpuPercent !== undefined ? { cpuPercent } : {}), memoryMB: round(reading.memoryBytes / 1024 ** 2, 1) }
        }
        // Docker takes about a second per stats answer: past the budget the sample goes without them.
        if (!askDocker || Date.now() - started > STATS_BUDGET_MS) return undefined
        askedDocker = true
        const stats = await docker.get<RawStats>(`/containers/${c.Id}/stats?stream=false&one-shot=true`).catch(() => undefined)
        if (!stats) return undefined
        const used = usageOf(stats, counters.get(c.Id))
        const counter = cpuCounter(stats)
        if (counter) counters.set(c.Id, counter)
        return used
      })
      if (askedDocker) statsAt = Date.now()
      const live = new Set(listed.map((c) => c.Id))
      for (const id of counters.keys()) if (!live.has(id)) counters.delete(id)
      for (const id of cgroupReadings.keys()) if (!live.has(id)) cgroupReadings.delete(id)
      cgroups?.keep(live)
      const list = listed.map((c, i): ContainerSample => {
        const u = usage[i]
        return {
          name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
          id: c.Id.slice(0, 12),
          image: c.Image ?? '',
          state: c.State ?? 'running',
          ...(u?.cpuPercent !== undefined ? { cpuPercent: u.cpuPercent } : {}),
          ...(u ? { memoryMB: u.memoryMB } : {}),
        }
      })
      return { list, stacks: stacks.size }
    } catch {
      return { list: [], stacks: 0 }
    }
  }

  const memory = async () => {
    try {
      if (process.platform === 'linux') return readMemory()
      const mem = await (await systeminformation()).mem()
      return { used: mem.active, total: mem.total }
    } catch {
      return { used: os.totalmem() - os.freemem(), total: os.totalmem() }
    }
  }

  const versions = async (): Promise<Record<string, string>> => {
    const docker = await versionOfDocker()
    return { thresh: options.threshVersion, [options.runtime.name]: options.runtime.version, ...(docker ? { docker } : {}) }
  }

  return {
    async collect() {
      const [mem, disks, running, versionList] = await Promise.all([memory(), diskUsage(), containers(), versions()])
      const now = cpuTimes()
      const perCore = now.map((times, i) => busyPercent(previous[i] ?? times, times))
      const sum = (list: CpuTimes[]) => list.reduce((acc, t) => ({ idle: acc.idle + t.idle, total: acc.total + t.total }), { idle: 0, total: 0 })
      const cpuPercent = busyPercent(sum(previous), sum(now))
      previous = now
      return {
        agentId: '',
        timestamp: new Date().toISOString(),
        cpuPercent,
        cpuPerCore: perCore,
        memoryUsedMB: Math.round(mem.used / 1024 ** 2),
        memoryTotalMB: Math.round(mem.total / 1024 ** 2),
        diskUsedGB: round(disks.reduce((n, d) => n + d.usedGB, 0)),
        diskTotalGB: round(disks.reduce((n, d) => n + d.totalGB, 0)),
        disks,
        containersRunning: running.list.length,
        containers: running.list,
        environmentCount: running.stacks,
        uptimeSeconds: Math.round(os.uptime()),
        ...host.sample(),
        hostname: os.hostname(),
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
        versions: versionList,
      }
    },
    async staticInfo() {
      const [disks, versionList, mem] = await Promise.all([diskUsage(), versions(), memory()])
      return {
        cpuCores: os.cpus().length,
        ramTotalGb: round(mem.total / GB),
        diskTotalGb: round(disks.reduce((n, d) => n + d.totalGB, 0)),
        versions: versionList,
        containerRuntime: versionList.docker ? `docker ${versionList.docker}` : 'docker (unreachable)',
      }
    },
  }
}
