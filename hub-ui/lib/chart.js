// A tiny SVG line chart for metric history: a few series over time, axes, and a readable summary
// for screen readers. No chart library: the fleet page must stay under its byte budget.

const NS = 'http://www.w3.org/2000/svg'
/** @param {string} tag @param {Record<string, string | number>} attrs */
function s(tag, attrs) {
  const el = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  return el
}

/**
 * @typedef {{ label: string, values: (number | undefined)[], className: string }} Series
 * @param {{ title: string, times: number[], series: Series[], max?: number, unit: string, from: number, to: number }} spec
 */
export function lineChart({ title, times, series, max, unit, from, to }) {
  const W = 900, H = 200, L = 40, R = 8, T = 10, B = 24
  const all = series.flatMap((x) => x.values.filter((v) => v !== undefined))
  const top = max ?? Math.max(1, ...all.map(Number)) * 1.1
  const x = (/** @type {number} */ t) => L + ((t - from) / Math.max(1, to - from)) * (W - L - R)
  const y = (/** @type {number} */ v) => T + (1 - v / top) * (H - T - B)
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' })
  const last = series.map((x) => `${x.label} ${fmt([...x.values].reverse().find((v) => v !== undefined))}${unit}`).join(', ')
  const label = s('title', {})
  label.textContent = `${title}: ${times.length} samples${times.length ? `; latest ${last}` : ''}`
  svg.append(label)
  for (let i = 0; i <= 4; i++) {
    const v = (top / 4) * i
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }))
    const t = s('text', { x: L - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' })
    t.textContent = fmt(v)
    svg.append(t)
  }
  for (const [i, at] of [[0, from], [1, (from + to) / 2], [2, to]]) {
    const t = s('text', { x: x(at), y: H - 6, class: 'axis', 'text-anchor': ['start', 'middle', 'end'][i] })
    t.textContent = tick(at, to - from)
    svg.append(t)
  }
  for (const line of series) {
    let d = ''
    let pen = false
    line.values.forEach((v, i) => {
      if (v === undefined) return void (pen = false)
      d += `${pen ? 'L' : 'M'}${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`
      pen = true
    })
    if (d) svg.append(s('path', { d, class: `line ${line.className}` }))
  }
  if (!times.length) {
    const t = s('text', { x: W / 2, y: H / 2, class: 'axis empty', 'text-anchor': 'middle' })
    t.textContent = 'No samples in this period yet'
    svg.append(t)
  }
  return svg
}

/** @param {number | undefined} v */
function fmt(v) {
  if (v === undefined) return '—'
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(1)
}
/** @param {number} t @param {number} span */
function tick(t, span) {
  const d = new Date(t)
  return span > 2 * 86400_000 ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
}
