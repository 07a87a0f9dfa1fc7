// Memory and disk figures on Linux straight from /proc and statfs(2), with the meaning the agent had
// from systeminformation's mem() and `df -kPT`, without loading that library or forking `df` on every
// sample. /proc reads are served by the kernel from memory (tens of µs), so they are synchronous.
import { readFileSync, statSync, statfsSync } from 'node:fs'

export interface MemoryFigures {
  /** Bytes in use: MemTotal - MemAvailable (systeminformation's `active`). */
  used: number
  total: number
}

/** One line of `df -kPT`: sizes in KiB. */
export interface DfRow {
  device: string
  type: string
  blocksK: number
  usedK: number
  mount: string
}

/** /proc/meminfo's fields in bytes, keyed by their lower-cased names. */
export function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const key = line.slice(0, colon).trim().toLowerCase()
    if (!fields.has(key)) fields.set(key, parseInt(line.slice(colon + 1), 10) * 1024)
  }
  return fields
}

/** systeminformation's Linux formula: used = total - available; before MemAvailable (Linux 3.14), available = free + buffers + cached + slab. */
export function memoryFromMeminfo(text: string): MemoryFigures {
  const fields = parseMeminfo(text)
  const get = (key: string) => fields.get(key) || 0
  const total = get('memtotal')
  const available = get('memavailable') || get('memfree') + get('buffers') + get('cached') + get('slab')
  return { used: total - available, total }
}

export function readMemory(): MemoryFigures {
  const figures = memoryFromMeminfo(readFileSync('/proc/meminfo', 'latin1'))
  if (!figures.total) throw new Error('/proc/meminfo has no MemTotal')
  return figures
}

export interface MountEntry {
  /** major:minor of the mounted filesystem. */
  dev: string
  /** The path inside the filesystem that is mounted (not `/` for bind mounts). */
  root: string
  mount: string
  type: string
  device: string
}

const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = []
  for (const line of text.split('\n')) {
    // id parent major:minor root mount-point options [optional fields...] - type source super-options
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    if (dash < 0 || fields.length < dash + 3) continue
    entries.push({ dev: fields[2]!, root: unescape(fields[3]!), mount: unescape(fields[4]!), type: fields[dash + 1]!, device: unescape(fields[dash + 2]!) })
  }
  return entries
}

// gnulib's ME_DUMMY list (what df hides without -a), plus rootfs.
const DUMMY_TYPES = new Set(['autofs', 'proc', 'subfs', 'debugfs', 'devpts', 'fusectl', 'fuse.portal', 'mqueue', 'rpc_pipefs', 'sysfs', 'devfs', 'kernfs', 'ignore', 'none', 'rootfs'])

// Filesystems whose statfs may hang (network, FUSE) or whose block size statfs(2) reports through Node
// differs from df's fragment size: those hosts keep asking `df`, which has a timeout.
const DF_ONLY_TYPES = /^(nfs|nfs4|cifs|smb3|smbfs|ceph|glusterfs|9p|lustre|gpfs|ocfs2|gfs2|afs|auristorfs|coda|acfs|fhgfs|ibrix|vxfs|zfs|virtiofs|vboxsf|fuse(\..*)?|fuseblk)$/

/** True when every real mount can be measured with statfs; false means use `df` this time. */
export function statfsIsSafe(entries: MountEntry[]): boolean {
  return entries.every((e) => DUMMY_TYPES.has(e.type) || (!DF_ONLY_TYPES.test(e.type) && !e.device.includes(':') && !e.device.startsWith('//')))
}

/**
 * The mounts `df` (GNU coreutils, without -a) reports, in its order: dummy filesystems left out, and one
 * entry per device (stat's st_dev of the mount point): a real device (with a `/`) over a pseudo name,
 * the mount nearest the root of the tree unless it is a deeper bind of the source, and an entry
 * mounted over the same mount point. `devOf` is stat(2)'s st_dev of a mount point.
 */
export function dfMounts(entries: MountEntry[], devOf: (mount: string) => string | undefined): MountEntry[] {
  const order: string[] = []
  const byDev = new Map<string, MountEntry>()
  for (const entry of entries) {
    if (DUMMY_TYPES.has(entry.type)) continue
    const dev = devOf(entry.mount)
    if (dev === undefined) continue // a mount point df cannot stat is reported as an error, not a row
    const seen = byDev.get(dev)
    if (!seen) {
      order.push(dev)
      byDev.set(dev, entry)
      continue
    }
    const realOverPseudo = entry.device.includes('/') && !seen.device.includes('/')
    const nearerRoot = seen.mount.length > entry.mount.length && !(seen.root.length < entry.root.length)
    const overmounted = seen.device !== entry.device && seen.mount === entry.mount
    if (realOverPseudo || nearerRoot || overmounted) byDev.set(dev, entry)
  }
  return order.map((dev) => byDev.get(dev)!)
}

/** `df -kPT`'s rows from /proc/self/mountinfo and statfs, or undefined when `df` itself should be asked. */
export function readDfRows(): DfRow[] | undefined {
  const entries = parseMountinfo(readFileSync('/proc/self/mountinfo', 'latin1'))
  if (entries.length === 0 || !statfsIsSafe(entries)) return undefined
  const devOf = (mount: string) => {
    try {
      return String(statSync(mount).dev)
    } catch {
      return undefined
    }
  }
  const rows: DfRow[] = []
  for (const entry of dfMounts(entries, devOf)) {
    let fs: ReturnType<typeof statfsSync>
    try {
      fs = statfsSync(entry.mount)
    } catch {
      continue
    }
    if (fs.blocks === 0) continue // df hides zero-size filesystems
    // Blocks count in f_frsize units; Node reports only f_bsize, which Linux sets equal for the local
    // filesystems this path is used for (DF_ONLY_TYPES are the ones that differ). Deno has both.
    const unit = (fs as { frsize?: number }).frsize || fs.bsize
    rows.push({ device: entry.device, type: entry.type, mount: entry.mount, blocksK: Math.ceil((fs.blocks * unit) / 1024), usedK: Math.ceil(((fs.blocks - fs.bfree) * unit) / 1024) })
  }
  return rows
}
