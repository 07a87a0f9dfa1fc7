// Takes one MetricsData sample of this node without stalling the event loop: CPU from os.cpus()
// deltas; memory and disks on Linux from /proc and statfs (linux-proc.ts), elsewhere from
// systeminformation (loaded on first use) and an async `df`; containers from the Docker socket.
// systeminformation's currentLoad() and fsSize() run execSync on Linux, so they are not used.
import { execFile } from 'node:child_process'
import os from 'node:os'
import process from 'node:process'
import type { MetricsData } from '../../lib/agent-session/protocol.ts'
import type { DockerApi } from './docker-api.ts'
import { createHostExtras } from './host-extras.ts'
import { readDfRows, readMemory, type DfRow } from './linux-proc.ts'

export interface DiskUsage {
  mount: string
  usedGB: number
  totalGB: number
}

/** MetricsData plus what the seeds' dashboards show beside it. */
export interface SystemMetrics extends MetricsData {
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

export interface CollectorOptions {
  /** The Docker Engine API for running containers and the engine version; undefined leaves them out. */
  docker?: DockerApi
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

  const containers = async (): Promise<{ names: string[]; stacks: number }> => {
    if (!options.docker) return { names: [], stacks: 0 }
    try {
      const list = await options.docker.get<Array<{ Id: string; Names?: string[]; Labels?: Record<string, string> }>>('/containers/json')
      const stacks = new Set(list.map((c) => c.Labels?.['thresh.stack']).filter(Boolean))
      return { names: list.map((c) => (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, '')), stacks: stacks.size }
    } catch {
      return { names: [], stacks: 0 }
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
        containersRunning: running.names.length,
        containers: running.names,
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
