// The host figures beyond the original MetricsData (load, swap, network and disk I/O per device,
// temperatures) as a history series: flattened to one number per key so every tier (raw, 1-minute,
// 15-minute) averages them alike in memory and in SQL, and turned back into the agent's shapes when read.
// Bounded: at most ENTRIES_PER_LIST interfaces, devices and sensors of a sample, names at most NAME_MAX.
import type { HostExtras } from '../agent-session/protocol.ts'

/** Flat keys: `load1|5|15`, `swapUsedMb`, `swapTotalMb`, `net.rx.<if>`, `net.tx.<if>`, `io.read.<dev>`, `io.write.<dev>`, `temp.<sensor>`. */
export type HostFigures = Record<string, number>

export const ENTRIES_PER_LIST = 16
const NAME_MAX = 64

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const named = (v: unknown): v is string => typeof v === 'string' && v !== '' && v.length <= NAME_MAX
// Rates to whole bytes and loads to hundredths: what a chart shows, and fewer digits to store.
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits

/** A sample's host figures as flat keys; undefined when the agent reported none (the original agent). */
export function hostFiguresOf(sample: Record<string, unknown>): HostFigures | undefined {
  const out: HostFigures = {}
  const load = sample.loadAverage
  if (Array.isArray(load) && load.length === 3 && load.every(finite)) {
    out.load1 = round(load[0], 2)
    out.load5 = round(load[1], 2)
    out.load15 = round(load[2], 2)
  }
  if (finite(sample.swapUsedMB)) out.swapUsedMb = round(sample.swapUsedMB, 1)
  if (finite(sample.swapTotalMB)) out.swapTotalMb = round(sample.swapTotalMB, 1)
  const list = (value: unknown, name: string, figures: Array<[string, string, number]>) => {
    if (!Array.isArray(value)) return
    for (const entry of value.slice(0, ENTRIES_PER_LIST)) {
      const e = entry as Record<string, unknown> | null
      if (typeof e !== 'object' || e === null || !named(e[name])) continue
      for (const [field, prefix, digits] of figures) if (finite(e[field])) out[`${prefix}${e[name]}`] = round(e[field], digits)
    }
  }
  list(sample.network, 'interface', [['rxBytesPerSec', 'net.rx.', 0], ['txBytesPerSec', 'net.tx.', 0]])
  list(sample.diskIo, 'device', [['readBytesPerSec', 'io.read.', 0], ['writeBytesPerSec', 'io.write.', 0]])
  list(sample.temperatures, 'sensor', [['celsius', 'temp.', 1]])
  return Object.keys(out).length > 0 ? out : undefined
}

/** Sums host figures into a bucket, each key weighted by the samples of the point that had it. */
export function addHostFigures(into: Map<string, { sum: number; n: number }>, figures: HostFigures | undefined, samples: number): void {
  if (!figures) return
  for (const key in figures) {
    const slot = into.get(key) ?? { sum: 0, n: 0 }
    slot.sum += figures[key]! * samples
    slot.n += samples
    into.set(key, slot)
  }
}

export function averageHostFigures(sums: Map<string, { sum: number; n: number }>): HostFigures | undefined {
  if (sums.size === 0) return undefined
  const out: HostFigures = {}
  for (const [key, { sum, n }] of [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[key] = sum / n
  return out
}

/** Flat figures back in the agent's MetricsData shapes, for the history API. */
export function hostExtrasOf(figures: HostFigures | undefined): HostExtras {
  if (!figures) return {}
  const out: HostExtras = {}
  const r = (v: number, digits: number) => round(v, digits)
  if (figures.load1 !== undefined && figures.load5 !== undefined && figures.load15 !== undefined) out.loadAverage = [r(figures.load1, 2), r(figures.load5, 2), r(figures.load15, 2)]
  if (figures.swapUsedMb !== undefined) out.swapUsedMB = r(figures.swapUsedMb, 1)
  if (figures.swapTotalMb !== undefined) out.swapTotalMB = r(figures.swapTotalMb, 1)
  const network = new Map<string, { interface: string; rxBytesPerSec: number; txBytesPerSec: number }>()
  const diskIo = new Map<string, { device: string; readBytesPerSec: number; writeBytesPerSec: number }>()
  const temperatures: Array<{ sensor: string; celsius: number }> = []
  for (const [key, value] of Object.entries(figures)) {
    if (key.startsWith('net.')) {
      const name = key.slice(7)
      const n = network.get(name) ?? { interface: name, rxBytesPerSec: 0, txBytesPerSec: 0 }
      n[key.startsWith('net.rx.') ? 'rxBytesPerSec' : 'txBytesPerSec'] = r(value, 0)
      network.set(name, n)
    } else if (key.startsWith('io.read.') || key.startsWith('io.write.')) {
      const read = key.startsWith('io.read.')
      const name = key.slice(read ? 8 : 9)
      const d = diskIo.get(name) ?? { device: name, readBytesPerSec: 0, writeBytesPerSec: 0 }
      d[read ? 'readBytesPerSec' : 'writeBytesPerSec'] = r(value, 0)
      diskIo.set(name, d)
    } else if (key.startsWith('temp.')) temperatures.push({ sensor: key.slice(5), celsius: r(value, 1) })
  }
  if (network.size) out.network = [...network.values()]
  if (diskIo.size) out.diskIo = [...diskIo.values()]
  if (temperatures.length) out.temperatures = temperatures
  return out
}
