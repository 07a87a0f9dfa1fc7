// A tiny SVG line chart for metric history: a few series over time, axes (whole numbers for counts),
// deploy/update/rollback markers, a hover or keyboard tooltip with the exact values and time, and a
// readable summary for screen readers. No chart library: the fleet page must stay under its byte budget.

const NS = 'http://www.w3.org/2000/svg'
/** @param {string} tag @param {Record<string, string | number>} attrs */
function s(tag, attrs) {
  const el = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  return el
}

/**
 * @typedef {{ label: string, values: (number | undefined)[], className: string }} Series
 * @typedef {{ at: number, label: string, kind: string }} Marker
 * @param {{ title: string, times: number[], series: Series[], max?: number, unit: string, from: number, to: number, integer?: boolean, markers?: Marker[] }} spec
 */
export function lineChart({ title, times, series, max, unit, from, to, integer, markers = [] }) {
  // A narrow screen gets a narrow drawing, so its labels stay at least 10 px tall once scaled down.
  const narrow = typeof matchMedia === 'function' && matchMedia('(max-width: 600px)').matches
  const W = narrow ? 400 : 900, H = narrow ? 220 : 200, L = 40, R = 8, T = 10, B = 24
  const all = series.flatMap((x) => x.values.filter((v) => v !== undefined)).map(Number)
  let top = max ?? Math.max(1, ...all) * 1.1
  // Counts get whole-number gridlines: four steps of a whole size.
  const step = integer && max === undefined ? Math.max(1, Math.ceil(Math.max(...all, 1) / 4)) : top / 4
  if (integer && max === undefined) top = step * 4
  const x = (/** @type {number} */ t) => L + ((t - from) / Math.max(1, to - from)) * (W - L - R)
  const y = (/** @type {number} */ v) => T + (1 - v / top) * (H - T - B)
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: narrow ? 'chart narrow' : 'chart', role: 'img' })
  const last = series.map((x) => `${x.label} ${fmt([...x.values].reverse().find((v) => v !== undefined), integer)}${unit}`).join(', ')
  const label = s('title', {})
  const shownMarkers = markers.filter((m) => m.at >= from && m.at <= to)
  label.textContent = `${title}: ${times.length} samples${times.length ? `; latest ${last}` : ''}${shownMarkers.length ? `; ${shownMarkers.length} deploy or update markers` : ''}`
  svg.append(label)
  for (let i = 0; i <= 4; i++) {
    const v = step * i
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }))
    const t = s('text', { x: L - 4, y: y(v) + 4, class: 'axis value', 'text-anchor': 'end' })
    t.textContent = fmt(v, integer)
    svg.append(t)
  }
  for (const [i, at] of [[0, from], [1, (from + to) / 2], [2, to]]) {
    const t = s('text', { x: x(at), y: H - 6, class: 'axis', 'text-anchor': ['start', 'middle', 'end'][i] })
    t.textContent = tick(at, to - from)
    svg.append(t)
  }
  for (const m of shownMarkers) {
    const g = s('g', { class: `marker ${m.kind}` })
    const tip = s('title', {})
    tip.textContent = `${m.label} (${new Date(m.at).toLocaleString()})`
    g.append(tip, s('line', { x1: x(m.at), x2: x(m.at), y1: T, y2: H - B }), s('path', { d: `M${x(m.at) - 5},${T} h10 l-5,7 z` }))
    svg.append(g)
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

  // The tooltip: the nearest sample under the pointer (or picked with the arrow keys).
  const cursor = s('line', { y1: T, y2: H - B, class: 'cursor', visibility: 'hidden' })
  svg.append(cursor)
  const tipBox = document.createElement('div')
  tipBox.className = 'chart-tip'
  tipBox.hidden = true
  tipBox.setAttribute('role', 'status')
  const box = document.createElement('div')
  box.className = 'chart-box'
  box.tabIndex = times.length ? 0 : -1
  box.setAttribute('aria-label', `${title}: use the arrow keys for exact values`)
  box.append(svg, tipBox)
  let index = -1
  const show = (/** @type {number} */ i) => {
    if (!times.length) return
    index = Math.max(0, Math.min(times.length - 1, i))
    const t = times[index]
    cursor.setAttribute('x1', String(x(t)))
    cursor.setAttribute('x2', String(x(t)))
    cursor.setAttribute('visibility', 'visible')
    const near = shownMarkers.filter((m) => Math.abs(m.at - t) <= (to - from) / 100)
    tipBox.replaceChildren(
      Object.assign(document.createElement('time'), { textContent: new Date(t).toLocaleString(), dateTime: new Date(t).toISOString() }),
      ...series.map((line) => Object.assign(document.createElement('div'), { className: line.className, textContent: `${line.label}: ${exact(line.values[index], integer)}${unit}` })),
      ...near.map((m) => Object.assign(document.createElement('div'), { className: 'tip-marker', textContent: m.label })),
    )
    tipBox.hidden = false
    const left = (x(t) / W) * 100
    tipBox.style.left = `${left}%`
    tipBox.style.transform = left > 60 ? 'translateX(calc(-100% - 8px))' : 'translateX(8px)'
  }
  const hide = () => {
    tipBox.hidden = true
    cursor.setAttribute('visibility', 'hidden')
  }
  svg.addEventListener('pointermove', (e) => {
    const rect = svg.getBoundingClientRect()
    const at = from + (((e.clientX - rect.left) / rect.width) * W - L) / (W - L - R) * (to - from)
    let best = 0
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - at) < Math.abs(times[best] - at)) best = i
    show(best)
  })
  svg.addEventListener('pointerleave', hide)
  box.addEventListener('blur', hide)
  box.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault()
      show(index < 0 ? times.length - 1 : index + (e.key === 'ArrowRight' ? 1 : -1))
    } else if (e.key === 'Escape') hide()
  })
  return box
}

/** @param {number | undefined} v @param {boolean} [integer] */
function fmt(v, integer) {
  if (v === undefined) return '—'
  if (integer) return String(Math.round(v))
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(1)
}
/** The tooltip's value: two decimals, whole for counts. @param {number | undefined} v @param {boolean} [integer] */
function exact(v, integer) {
  if (v === undefined) return '—'
  return integer ? String(Math.round(v)) : v.toFixed(2)
}
/** @param {number} t @param {number} span */
function tick(t, span) {
  const d = new Date(t)
  return span > 2 * 86400_000 ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
}
