// The figures beyond the original MetricsData, on Linux: load average, swap, network rx/tx per
// interface and disk read/write per device (rates from the counters' change since the last sample),
// and temperatures from /sys/class/hwmon and /sys/class/thermal where the host exposes them.
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import process from 'node:process'
import type { HostExtras } from '../../lib/agent-session/protocol.ts'
import { parseMeminfo } from './linux-proc.ts'

const MB = 1024 ** 2
const MAX_ENTRIES = 32
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

/** `/proc/net/dev`: bytes received and sent per interface (loopback and container veths left out). */
export function parseNetDev(text: string): Map<string, { rx: number; tx: number }> {
  const out = new Map<string, { rx: number; tx: number }>()
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trim()
    if (name === 'lo' || name.startsWith('veth')) continue
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number)
    out.set(name, { rx: fields[0] ?? 0, tx: fields[8] ?? 0 })
  }
  return out
}

/** `/proc/diskstats`: bytes read and written per whole disk (sectors are 512 bytes). */
export function parseDiskstats(text: string, disks: Set<string>): Map<string, { read: number; write: number }> {
  const out = new Map<string, { read: number; write: number }>()
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    const name = f[2]
    if (!name || !disks.has(name)) continue
    out.set(name, { read: Number(f[5]) * 512, write: Number(f[9]) * 512 })
  }
  return out
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1')
  } catch {
    return undefined
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Sensors in millidegrees: hwmon's temp*_input (named by the chip and its label) and thermal zones. */
export function readTemperatures(root = '/sys/class'): Array<{ sensor: string; celsius: number }> {
  const out: Array<{ sensor: string; celsius: number }> = []
  for (const chip of list(`${root}/hwmon`)) {
    const base = `${root}/hwmon/${chip}`
    const name = read(`${base}/name`)?.trim() || chip
    for (const file of list(base)) {
      const match = /^temp(\d+)_input$/.exec(file)
      if (!match) continue
      const value = Number(read(`${base}/${file}`))
      if (!Number.isFinite(value)) continue
      const label = read(`${base}/temp${match[1]}_label`)?.trim()
      out.push({ sensor: `${name} ${label || `temp${match[1]}`}`, celsius: round(value / 1000) })
    }
  }
  for (const zone of list(`${root}/thermal`)) {
    if (!zone.startsWith('thermal_zone')) continue
    const value = Number(read(`${root}/thermal/${zone}/temp`))
    if (!Number.isFinite(value)) continue
    out.push({ sensor: read(`${root}/thermal/${zone}/type`)?.trim() || zone, celsius: round(value / 1000) })
  }
  return out.filter((t) => t.celsius > -60 && t.celsius < 200).slice(0, MAX_ENTRIES)
}

export function createHostExtras(): { sample(): HostExtras } {
  let last: { at: number; net: Map<string, { rx: number; tx: number }>; disk: Map<string, { read: number; write: number }> } | undefined
  const wholeDisks = () => new Set(list('/sys/block').filter((d) => !/^(loop|ram|zram)/.test(d)))

  return {
    sample() {
      const extras: HostExtras = { loadAverage: os.loadavg().map((v) => round(v, 2)) as [number, number, number] }
      if (process.platform !== 'linux') return extras
      const meminfo = read('/proc/meminfo')
      if (meminfo) {
        const fields = parseMeminfo(meminfo)
        const total = fields.get('swaptotal') ?? 0
        extras.swapTotalMB = Math.round(total / MB)
        extras.swapUsedMB = Math.round((total - (fields.get('swapfree') ?? 0)) / MB)
      }
      const at = Date.now()
      const netText = read('/proc/net/dev')
      const diskText = read('/proc/diskstats')
      const net = netText ? parseNetDev(netText) : new Map()
      const disk = diskText ? parseDiskstats(diskText, wholeDisks()) : new Map()
      if (last && at > last.at) {
        const seconds = (at - last.at) / 1000
        const rate = (now: number, before: number | undefined) => (before === undefined || now < before ? 0 : round((now - before) / seconds, 0))
        extras.network = [...net].slice(0, MAX_ENTRIES).map(([name, c]) => ({ interface: name, rxBytesPerSec: rate(c.rx, last!.net.get(name)?.rx), txBytesPerSec: rate(c.tx, last!.net.get(name)?.tx) }))
        extras.diskIo = [...disk].slice(0, MAX_ENTRIES).map(([name, c]) => ({ device: name, readBytesPerSec: rate(c.read, last!.disk.get(name)?.read), writeBytesPerSec: rate(c.write, last!.disk.get(name)?.write) }))
      }
      last = { at, net, disk }
      const temperatures = readTemperatures()
      if (temperatures.length) extras.temperatures = temperatures
      return extras
    },
  }
}
