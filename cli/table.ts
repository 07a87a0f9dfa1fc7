// How remote commands show things to people: aligned tables, ages, sizes, bars and status colours.
import process from 'node:process'

/** Columns padded to the widest cell; the last column is not padded so lines carry no trailing blanks. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return ''
  const columns = Math.max(...rows.map((r) => r.length))
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => visibleLength(r[i] ?? ''))))
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  '))
    .join('\n')
}

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g
function visibleLength(text: string): number {
  return text.replace(ansi, '').length
}

/** `12s`, `5m`, `3h`, `2d` since an ISO time; `-` when unknown. */
export function age(iso: unknown, now = Date.now()): string {
  if (typeof iso !== 'string' && typeof iso !== 'number') return '-'
  const then = typeof iso === 'number' ? iso : Date.parse(iso)
  if (!Number.isFinite(then)) return '-'
  const s = Math.max(0, Math.round((now - then) / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

/** `3s ago` style for "last seen" columns. */
export function ago(iso: unknown, now = Date.now()): string {
  const a = age(iso, now)
  return a === '-' ? 'never' : `${a} ago`
}

/** A number with at most `digits` decimals, or `-` when absent. */
export function num(value: unknown, digits = 1): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '-'
  return String(Math.round(value * 10 ** digits) / 10 ** digits)
}

/** `[██████░░░░░░]  52%`: a fixed-width bar for a percentage. */
export function bar(percent: number, width = 24): string {
  const p = Math.max(0, Math.min(100, percent))
  const filled = Math.round((p / 100) * width)
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${num(p)}%`
}

const useColor = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR
const colors: Record<string, number> = {
  online: 32, running: 32, active: 32, healthy: 32, connected: 32,
  deploying: 33, pending: 33, updating: 33, stopping: 33, starting: 33, expiring: 33, reconnecting: 33,
  stopped: 90, offline: 90, revoked: 90, expired: 90,
  error: 31, failed: 31, blocked: 31,
}

/** The status word, coloured on a terminal the way the original did (green running, yellow deploying, ...). */
export function status(word: unknown): string {
  const text = typeof word === 'string' && word ? word : '-'
  const code = colors[text.toLowerCase()]
  return code !== undefined && useColor() ? `\u001b[${code}m${text}\u001b[0m` : text
}

/** Pretty JSON on stdout: what every read command prints under --json. */
export function printJson(value: unknown): void {
  write(JSON.stringify(value, null, 2) + '\n')
}

export function print(line = ''): void {
  write(line + '\n')
}

const isEpipe = (error: unknown) => (error as NodeJS.ErrnoException)?.code === 'EPIPE' || /EPIPE/.test(String((error as Error)?.message))
let guarded = false

/** `thresh node list | head -3` closes the pipe early: that is the reader being done, not a failure. */
function write(text: string): void {
  if (!guarded) {
    guarded = true
    process.stdout.on('error', (error) => {
      if (isEpipe(error)) process.exit(0)
      throw error
    })
  }
  try {
    process.stdout.write(text)
  } catch (error) {
    if (isEpipe(error)) process.exit(0)
    throw error
  }
}

/** `thresh_live_****1a2b`: enough to tell keys apart, never enough to use one. */
export function maskSecret(secret: string): string {
  const prefix = /^(thresh_(?:cli|live|mid)_)/.exec(secret)?.[1] ?? ''
  return secret.length <= prefix.length + 12 ? `${prefix}****` : `${prefix}****${secret.slice(-4)}`
}
