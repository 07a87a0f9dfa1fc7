// Node: live per-core CPU, memory, disks and containers; history charts for 1 h / 24 h / 7 d from
// `GET /api/nodes/{id}/metrics`; the stacks on the node; every container, environment, image and
// volume on its Docker engine (node-docker.js); removing it from the fleet.
import { api, asList, enc } from '../lib/api.js'
import { h, openDialog, replace, toast } from '../lib/dom.js'
import { lineChart } from '../lib/chart.js'
import { ago, DASH, duration, gb, mb, pct, ratio } from '../lib/format.js'
import { onLive } from '../lib/live.js'
import { statusLabel, toMetrics, toNode, toStack } from '../lib/model.js'
import { dockerSection } from './node-docker.js'

const RANGES = [
  ['1h', '1 hour', 3600_000],
  ['24h', '24 hours', 86400_000],
  ['7d', '7 days', 7 * 86400_000],
]

/** @param {number | undefined} value */
const level = (value) => (value === undefined ? '' : value >= 90 ? 'crit' : value >= 75 ? 'warn' : 'ok')
/** @param {number | undefined} value */
function meter(value) {
  const bar = h('i', { class: level(value) })
  bar.style.transform = `scaleX(${(value ?? 0) / 100})`
  return h('span', { class: 'meter', 'aria-hidden': 'true' }, bar)
}

/**
 * A node from a source without the full last report (a live node event carries only its figures)
 * keeps the per-core, per-disk and container detail it had; `GET /api/nodes/{id}` has it (`lastMetrics`).
 * @param {import('../lib/model.js').FleetNode} next @param {import('../lib/model.js').Metrics | null} prev
 */
function withDetail(next, prev) {
  const m = next.metrics
  if (!prev || next.raw?.lastMetrics) return next
  if (!m) return { ...next, metrics: prev }
  return { ...next, metrics: { ...m, cpuPerCore: m.cpuPerCore.length ? m.cpuPerCore : prev.cpuPerCore, disks: m.disks.length ? m.disks : prev.disks, containers: m.containers.length ? m.containers : prev.containers } }
}

/** @type {import('../app.js').ViewFactory} */
export default async function nodePage({ params, navigate }) {
  const id = params.id
  let node = toNode(await api('GET', `/api/nodes/${enc(id)}`))
  let range = RANGES[0]
  const title = h('h1', null, node.name)
  const badge = h('span', { class: 'badge' })
  const seen = h('span', { class: 'muted small' })
  const live = h('div')
  const facts = h('dl', { class: 'facts' })
  const charts = h('div', { 'aria-live': 'off' })
  const stacks = h('div')
  const rangeButtons = RANGES.map((r) =>
    h('button', { type: 'button', 'aria-pressed': String(r === range), onclick: () => ((range = r), syncRange(), void loadCharts()) }, r[1]),
  )
  const syncRange = () => rangeButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(RANGES[i] === range)))

  const remove = h('button', {
    'data-needs': 'operator',
    type: 'button',
    class: 'danger',
    onclick: () =>
      openDialog({
        title: `Remove ${node.name}?`,
        body: h('p', null, 'The node leaves the fleet and its history is deleted. If its agent is still running it will register again on its next connection; stop the agent first to keep it out.'),
        actions: (close) => [
          h('button', { type: 'button', onclick: close }, 'Cancel'),
          h('button', {
            type: 'button',
            class: 'danger solid',
            onclick: async () => {
              try {
                await api('DELETE', `/api/nodes/${enc(node.id)}`)
                close()
                toast(`${node.name} was removed from the fleet.`)
                navigate('#/')
              } catch (e) {
                toast(/** @type {Error} */ (e).message, 'error')
              }
            },
          }, 'Remove node'),
        ],
      }),
  }, 'Remove node')

  function paintHeader() {
    title.textContent = node.name
    badge.textContent = statusLabel(node.status)
    badge.dataset.status = node.status
    seen.textContent = node.lastSeen ? `last report ${ago(node.lastSeen)}` : ''
    replace(
      facts,
      ...[
        ['Hostname', node.hostname],
        ['Address', node.ipAddress],
        ['Platform', [node.platform, node.osVersion].filter(Boolean).join(' ')],
        ['Architecture', node.architecture],
        ['Agent version', node.version],
        ['Container runtime', node.raw.containerRuntime ?? node.raw.info?.containerRuntime],
        ['CPU cores', node.cpuCores],
        ['Cluster', node.cluster],
        ['Node id', node.id],
      ].flatMap(([k, v]) => [h('dt', null, String(k)), h('dd', { class: k === 'Node id' ? 'mono' : '' }, v === undefined || v === '' ? DASH : String(v))]),
    )
  }

  function paintLive() {
    const m = node.metrics
    if (!m) {
      replace(live, h('p', { class: 'muted' }, 'This node has not reported metrics yet.'))
      return
    }
    const memPct = ratio(m.memoryUsedMB, m.memoryTotalMB)
    const diskPct = ratio(m.diskUsedGB, m.diskTotalGB)
    replace(
      live,
      h('div', { class: 'cards' },
        card('CPU', pct(m.cpuPercent, 1), `${m.cpuPerCore.length || node.cpuCores || DASH} cores`, m.cpuPercent),
        card('Memory', mb(m.memoryUsedMB), `of ${mb(m.memoryTotalMB)} · ${pct(memPct)}`, memPct),
        card('Disk', gb(m.diskUsedGB), `of ${gb(m.diskTotalGB)} · ${pct(diskPct)}`, diskPct),
        card('Containers', m.containersRunning === undefined ? DASH : String(m.containersRunning), 'running'),
        card('Uptime', duration(m.uptimeSeconds), m.timestamp ? `reported ${ago(m.timestamp)}` : ''),
      ),
      m.cpuPerCore.length
        ? [h('h2', null, 'CPU per core'), h('ol', { class: 'cores', 'aria-label': 'CPU per core' }, m.cpuPerCore.map((v, i) => h('li', { class: 'core' }, h('div', null, h('span', { class: 'muted' }, `#${i} `), pct(v)), meter(v))))]
        : null,
      hostFigures(m),
      h('h2', null, 'Disks'),
      m.disks.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Mount'), h('th', { scope: 'col' }, 'Used'), h('th', { scope: 'col' }, 'Total'), h('th', { scope: 'col' }, 'Usage'))),
            h('tbody', null, m.disks.map((d) => {
              const p = ratio(d.usedGB, d.totalGB)
              return h('tr', null, h('th', { scope: 'row', class: 'mono' }, d.mount), h('td', { 'data-label': 'Used' }, gb(d.usedGB)), h('td', { 'data-label': 'Total' }, gb(d.totalGB)), h('td', { 'data-label': 'Usage' }, pct(p), meter(p)))
            }))))
        : h('p', { class: 'muted' }, 'No per-mount figures reported.'),
    )
  }

  /** Load, swap, network, disk I/O and temperatures, when the agent reports them. @param {any} m */
  function hostFigures(m) {
    const rate = (/** @type {number} */ b) => (b >= 1024 ** 2 ? `${(b / 1024 ** 2).toFixed(1)} MB/s` : b >= 1024 ? `${(b / 1024).toFixed(1)} KB/s` : `${Math.round(b)} B/s`)
    const small = (/** @type {string} */ caption, /** @type {string[]} */ head, /** @type {any[][]} */ rows) =>
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' }, h('caption', { class: 'sr-only' }, caption),
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, rows.map((r) => h('tr', null, h('th', { scope: 'row', class: 'mono' }, r[0]), r.slice(1).map((v, i) => h('td', { 'data-label': head[i + 1] }, v)))))))
    const parts = []
    if (m.loadAverage.length || m.swapTotalMB !== undefined) {
      parts.push(h('div', { class: 'cards' },
        m.loadAverage.length ? card('Load average', m.loadAverage.map((/** @type {number} */ v) => v.toFixed(2)).join(' · '), '1 · 5 · 15 min') : null,
        m.swapTotalMB !== undefined ? card('Swap', mb(m.swapUsedMB), `of ${mb(m.swapTotalMB)}`, ratio(m.swapUsedMB, m.swapTotalMB)) : null))
    }
    if (m.network.length) parts.push(h('h2', null, 'Network'), small('Network per interface', ['Interface', 'Received', 'Sent'], m.network.map((/** @type {any} */ n) => [n.interface, rate(n.rxBytesPerSec), rate(n.txBytesPerSec)])))
    if (m.diskIo.length) parts.push(h('h2', null, 'Disk I/O'), small('Disk I/O per device', ['Device', 'Read', 'Written'], m.diskIo.map((/** @type {any} */ d) => [d.device, rate(d.readBytesPerSec), rate(d.writeBytesPerSec)])))
    if (m.temperatures.length) parts.push(h('h2', null, 'Temperatures'), small('Temperatures', ['Sensor', '°C'], m.temperatures.map((/** @type {any} */ t) => [t.sensor, `${t.celsius} °C`])))
    return parts
  }

  /** @param {string} k @param {string} v @param {string} sub @param {number} [p] */
  function card(k, v, sub, p) {
    return h('div', { class: 'card' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v), h('div', { class: 'sub' }, sub), p === undefined ? null : meter(p))
  }

  let chartsLoadedAt = 0
  async function loadCharts() {
    const to = Date.now()
    const from = to - /** @type {number} */ (range[2])
    chartsLoadedAt = to
    let samples = []
    try {
      const data = await api('GET', `/api/nodes/${enc(node.id)}/metrics?from=${enc(new Date(from).toISOString())}&to=${enc(new Date(to).toISOString())}`)
      samples = asList(data, 'samples', 'metrics', 'points')
        .map((s) => ({ t: Date.parse(s.timestamp ?? s.time ?? s.at), m: toMetrics(s) }))
        .filter((s) => Number.isFinite(s.t) && s.m)
        .sort((a, b) => a.t - b.t)
    } catch (e) {
      replace(charts, h('p', { class: 'error-box' }, `History is unavailable: ${/** @type {Error} */ (e).message}`))
      return
    }
    const times = samples.map((s) => s.t)
    const ms = samples.map((s) => /** @type {import('../lib/model.js').Metrics} */ (s.m))
    // Deploys, updates and rollbacks of this node's stacks, drawn on every chart (none on a hub without events).
    /** @type {import('../lib/chart.js').Marker[]} */
    let markers = []
    try {
      const kinds = 'stack_deployed,stack_updated,stack_rollback'
      const found = asList(await api('GET', `/api/events?node=${enc(node.id)}&kind=${kinds}&since=${enc(new Date(from).toISOString())}&limit=200`), 'events')
      markers = found.map((e) => ({ at: Date.parse(e.at), label: e.message, kind: e.kind })).filter((m) => Number.isFinite(m.at))
    } catch {
      markers = []
    }
    const wrap = (/** @type {string} */ t, /** @type {[string, string][]} */ legend, /** @type {Element} */ svg) =>
      h('figure', { class: 'chart-wrap' }, h('h3', null, t, h('span', { class: 'legend' }, legend.map(([c, l]) => h('span', { class: c }, l)))), svg)
    replace(
      charts,
      wrap('CPU %', [['s1', 'CPU']], lineChart({ title: 'CPU percent', times, from, to, markers, unit: '%', max: 100, series: [{ label: 'CPU', className: 's1', values: ms.map((m) => m.cpuPercent) }] })),
      wrap('Memory %', [['s2', 'Memory']], lineChart({ title: 'Memory percent', times, from, to, markers, unit: '%', max: 100, series: [{ label: 'Memory', className: 's2', values: ms.map((m) => ratio(m.memoryUsedMB, m.memoryTotalMB)) }] })),
      wrap('Disk %', [['s3', 'Disk']], lineChart({ title: 'Disk percent', times, from, to, markers, unit: '%', max: 100, series: [{ label: 'Disk', className: 's3', values: ms.map((m) => ratio(m.diskUsedGB, m.diskTotalGB)) }] })),
      wrap('Containers running', [['s1', 'Containers']], lineChart({ title: 'Containers running', times, from, to, markers, integer: true, unit: '', series: [{ label: 'Containers', className: 's1', values: ms.map((m) => m.containersRunning) }] })),
      ...hostCharts(ms, { times, from, to, markers }, wrap),
    )
  }

  /**
   * Load, network, disk I/O, swap and temperature history, each only when the agent reports it.
   * @param {import('../lib/model.js').Metrics[]} ms @param {{ times: number[], from: number, to: number, markers: import('../lib/chart.js').Marker[] }} at
   * @param {(t: string, legend: [string, string][], svg: Element) => Element} wrap
   */
  function hostCharts(ms, at, wrap) {
    const sum = (/** @type {any[]} */ list, /** @type {string} */ key) => (list.length ? list.reduce((n, e) => n + Number(e[key] ?? 0), 0) / 1024 : undefined)
    const out = []
    if (ms.some((m) => m.loadAverage.length)) {
      const load = (/** @type {number} */ i) => ms.map((m) => m.loadAverage[i])
      out.push(wrap('Load average', [['s1', '1 min'], ['s2', '5 min'], ['s3', '15 min']], lineChart({ title: 'Load average', ...at, unit: '', series: [{ label: '1 min', className: 's1', values: load(0) }, { label: '5 min', className: 's2', values: load(1) }, { label: '15 min', className: 's3', values: load(2) }] })))
    }
    if (ms.some((m) => m.network.length)) {
      out.push(wrap('Network KB/s', [['s1', 'Received'], ['s2', 'Sent']], lineChart({ title: 'Network, all interfaces, kilobytes per second', ...at, unit: ' KB/s', series: [{ label: 'Received', className: 's1', values: ms.map((m) => sum(m.network, 'rxBytesPerSec')) }, { label: 'Sent', className: 's2', values: ms.map((m) => sum(m.network, 'txBytesPerSec')) }] })))
    }
    if (ms.some((m) => m.diskIo.length)) {
      out.push(wrap('Disk I/O KB/s', [['s1', 'Read'], ['s2', 'Written']], lineChart({ title: 'Disk I/O, all devices, kilobytes per second', ...at, unit: ' KB/s', series: [{ label: 'Read', className: 's1', values: ms.map((m) => sum(m.diskIo, 'readBytesPerSec')) }, { label: 'Written', className: 's2', values: ms.map((m) => sum(m.diskIo, 'writeBytesPerSec')) }] })))
    }
    if (ms.some((m) => m.swapTotalMB)) {
      out.push(wrap('Swap %', [['s3', 'Swap']], lineChart({ title: 'Swap percent', ...at, unit: '%', max: 100, series: [{ label: 'Swap', className: 's3', values: ms.map((m) => (m.swapTotalMB ? ratio(m.swapUsedMB, m.swapTotalMB) : undefined)) }] })))
    }
    if (ms.some((m) => m.temperatures.length)) {
      const hottest = ms.map((m) => (m.temperatures.length ? Math.max(...m.temperatures.map((/** @type {any} */ t) => Number(t.celsius))) : undefined))
      out.push(wrap('Temperature °C', [['s2', 'Hottest sensor']], lineChart({ title: 'Hottest sensor, degrees Celsius', ...at, unit: ' °C', series: [{ label: 'Hottest sensor', className: 's2', values: hottest }] })))
    }
    return out
  }

  async function loadStacks() {
    try {
      const all = asList(await api('GET', '/api/stacks'), 'stacks').map(toStack)
      const mine = all.filter((s) => [s.node, s.nodeId].some((v) => v && (v === node.id || v === node.name || v === node.hostname)))
      replace(
        stacks,
        mine.length
          ? h('ul', { class: 'tags' }, mine.map((s) => h('li', null, h('a', { href: `#/stacks/${enc(s.name)}` }, s.name), ' ', h('span', { class: 'badge', 'data-status': s.status }, s.status))))
          : h('p', { class: 'muted' }, 'No stacks on this node. ', h('a', { href: `#/stacks/new?node=${enc(node.id)}` }, 'Deploy one.')),
      )
    } catch (e) {
      replace(stacks, h('p', { class: 'error-box' }, /** @type {Error} */ (e).message))
    }
  }

  const off = onLive(({ target, args }) => {
    const t = target.toLowerCase()
    if (/stack|service|command/.test(t)) return void loadStacks()
    if (/disconnect/.test(t)) return void refresh()
    for (const a of args.flatMap((x) => (Array.isArray(x) ? x : [x]))) {
      const any = /** @type {any} */ (a)
      if (!any || typeof any !== 'object') continue
      const who = String(any.agentId ?? any.id ?? any.nodeId ?? '')
      if (who !== node.id) continue
      if (/remov|delet|prun/.test(t)) {
        node = { ...node, status: 'offline' }
        toast(`${node.name} was removed from the fleet.`)
      } else if (/offline/.test(t) && !('hostname' in any)) {
        node = { ...node, status: 'offline', lastSeen: any.lastSeenAt ?? node.lastSeen }
      } else if (/metric/.test(t) || ('cpuPercent' in any && !('hostname' in any))) {
        node = { ...node, metrics: toMetrics(any.metrics ?? any), status: 'online', lastSeen: any.timestamp ?? new Date().toISOString() }
      } else {
        node = withDetail(toNode(any), node.metrics)
      }
      paintHeader()
      paintLive()
      if (range === RANGES[0] && Date.now() - chartsLoadedAt > 15000) void loadCharts()
    }
    if (t === 'poll' || t === 'reconnected') void refresh()
  })

  async function refresh() {
    try {
      node = withDetail(toNode(await api('GET', `/api/nodes/${enc(id)}`)), node.metrics)
      paintHeader()
      paintLive()
    } catch {
      // The next poll tries again; a removed node shows its last known state.
    }
  }

  paintHeader()
  paintLive()
  const docker = dockerSection(node)
  const el = h(
    'section',
    { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Fleet'), ' / '),
    h('div', { class: 'page-head' }, title, badge, seen, h('div', { class: 'actions' }, remove)),
    live,
    h('div', { class: 'page-head' }, h('h2', null, 'History'), h('div', { class: 'range', role: 'group', 'aria-label': 'Time range' }, rangeButtons)),
    charts,
    h('h2', null, 'Stacks on this node'),
    stacks,
    docker.el,
    h('h2', null, 'Details'),
    h('div', { class: 'panel' }, facts),
  )
  // The Docker section asks the node itself (stats of every container take a moment): not awaited.
  void docker.load()
  await Promise.all([loadCharts(), loadStacks()])
  return { el, dispose: off }
}
