// Numbers, sizes and times as people read them, with a dash for anything unknown.

export const DASH = '—'

/** @param {number | undefined} v @param {number} [digits] */
export function pct(v, digits = 0) {
  return v === undefined ? DASH : `${v.toFixed(digits)}%`
}

/** @param {number | undefined} mb */
export function mb(mb) {
  if (mb === undefined) return DASH
  return mb >= 1024 ? `${(mb / 1024).toFixed(mb >= 10240 ? 0 : 1)} GB` : `${Math.round(mb)} MB`
}

/** @param {number | undefined} gb */
export function gb(gb) {
  if (gb === undefined) return DASH
  return gb >= 1024 ? `${(gb / 1024).toFixed(1)} TB` : `${gb.toFixed(gb >= 100 ? 0 : 1)} GB`
}

/** @param {number | undefined} used @param {number | undefined} total */
export function ratio(used, total) {
  return used === undefined || !total ? undefined : Math.max(0, Math.min(100, (used / total) * 100))
}

/** @param {string | number | undefined} when */
export function ago(when) {
  if (when === undefined || when === '') return DASH
  const t = typeof when === 'number' ? when : Date.parse(when)
  if (!Number.isFinite(t)) return DASH
  const s = Math.round((Date.now() - t) / 1000)
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

/** @param {number | undefined} s */
export function duration(s) {
  if (s === undefined) return DASH
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60)
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m`
}

/** @param {string | undefined} when */
export function dateTime(when) {
  if (!when) return DASH
  const t = new Date(when)
  return Number.isNaN(t.getTime()) ? DASH : t.toLocaleString()
}
