// Fleet: every node with status, CPU, memory, disk, containers, version, platform and cluster;
// live updates patch only the cells that changed, batched once per animation frame, so a fleet of
// thousands of nodes stays smooth.
import { api, asList } from '../lib/api.js'
import { attr, copy, h, openDialog, replace, text, toast } from '../lib/dom.js'
import { ago, DASH, gb, mb, pct, ratio } from '../lib/format.js'
import { onLive } from '../lib/live.js'
import { statusLabel, toMetrics, toNode } from '../lib/model.js'
import { fleetOverview } from './fleet-overview.js'

/** @typedef {import('../lib/model.js').FleetNode} FleetNode */

/**
 * @typedef {{ tr: HTMLTableRowElement, node: FleetNode, cells: Record<string, HTMLElement>, bars: Record<string, HTMLElement>,
 *   visible: boolean, dirty: boolean }} Row
 */

const COLUMNS = [
  ['name', 'Node'],
  ['status', 'Status'],
  ['cpu', 'CPU'],
  ['memory', 'Memory'],
  ['disk', 'Disk'],
  ['containers', 'Containers'],
  ['version', 'Version'],
  ['platform', 'Platform'],
  ['cluster', 'Cluster'],
]

/**
 * "Add node": a new agent key and the one command that installs a node with it (the hub's
 * installCommand: the pinned CA check, the install script, the wait until it is online).
 */
async function addNode() {
  let created
  try {
    created = await api('POST', '/api/keys', { type: 'agent', name: `node ${new Date().toISOString().slice(0, 16).replace('T', ' ')}` })
  } catch (error) {
    toast(`Cannot create a key: ${/** @type {Error} */ (error).message}`, 'error')
    return
  }
  const pre = h('pre', { class: 'code wrap', tabindex: '0', 'data-install-command': '' }, created.installCommand)
  openDialog({
    title: 'Add a node',
    body: [
      h('p', null, 'Paste this command on the new node. It installs the agent (as root, a systemd service), joins this hub and waits until the node is online; run again, it updates it in place.'),
      pre,
      // Over https the command checks the hub's fleet CA against this pin before trusting anything.
      location.protocol === 'https:' && created.caFingerprint ? h('p', null, 'It trusts this hub only if its fleet CA is ', h('code', { class: 'mono wrap' }, created.caFingerprint), '.') : null,
      h('p', { class: 'callout' }, h('strong', null, 'Shown once. '), `The command holds the new agent key "${created.name}" (API keys lists and revokes it).`),
    ],
    actions: (close) => [h('button', { type: 'button', class: 'primary', onclick: () => copy(created.installCommand, pre) }, 'Copy command'), h('button', { type: 'button', onclick: close }, 'Done')],
  })
}

/** @param {number | undefined} value */
function level(value) {
  return value === undefined ? '' : value >= 90 ? 'crit' : value >= 75 ? 'warn' : 'ok'
}

/** Does this pushed object carry metrics (MetricsData) rather than a node? @param {any} o */
function isMetrics(o) {
  return o && typeof o === 'object' && ('cpuPercent' in o || 'memoryUsedMB' in o) && !('hostname' in o) && !('metrics' in o)
}

/** @type {import('../app.js').ViewFactory} */
export default async function fleet({ query }) {
  /** @type {Map<string, Row>} */
  const rows = new Map()
  const tbody = h('tbody')
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' })
  const clusterFilter = /** @type {HTMLSelectElement} */ (h('select', { id: 'filter-cluster', name: 'cluster' }, h('option', { value: '' }, 'All clusters')))
  const statusFilter = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'filter-status', name: 'status' }, h('option', { value: '' }, 'Any status'), h('option', { value: 'online' }, 'Online'), h('option', { value: 'offline' }, 'Offline'), h('option', { value: 'reconnecting' }, 'Reconnecting'))
  )
  const search = /** @type {HTMLInputElement} */ (h('input', { id: 'filter-text', type: 'search', name: 'q', placeholder: 'Name, platform, version…', autocomplete: 'off' }))
  statusFilter.value = query.get('status') ?? ''
  const table = h(
    'table',
    { class: 'grid fleet cardify' },
    h('caption', { class: 'sr-only' }, 'Nodes in the fleet'),
    h('thead', null, h('tr', null, COLUMNS.map(([, label]) => h('th', { scope: 'col' }, label)))),
    tbody,
  )
  const empty = h('section', { class: 'empty', hidden: true, 'aria-labelledby': 'empty-title' })
  const noMatch = h('p', { class: 'empty-filter', hidden: true }, 'No nodes match these filters.')
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter nodes', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    h('div', { class: 'field inline' }, h('label', { for: 'filter-cluster' }, 'Cluster'), clusterFilter),
    h('div', { class: 'field inline' }, h('label', { for: 'filter-status' }, 'Status'), statusFilter),
    h('div', { class: 'field inline grow' }, h('label', { for: 'filter-text' }, 'Search'), search),
  )
  const overview = fleetOverview()
  const el = h(
    'section',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Fleet'), summary, h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn primary', 'data-needs': 'admin', onclick: () => void addNode() }, 'Add node'))),
    overview.el,
    filters,
    h('div', { class: 'table-wrap' }, table),
    noMatch,
    empty,
  )

  const cell = (/** @type {string} */ label, /** @type {any[]} */ ...children) => h('td', { 'data-label': label }, ...children)

  /** @param {FleetNode} node */
  function createRow(node) {
    const link = h('a', { href: `#/nodes/${encodeURIComponent(node.id)}` }, node.name)
    const status = h('span', { class: 'badge' })
    const seen = h('span', { class: 'muted small' })
    const cpuText = h('span', { class: 'num' })
    const cpuBar = h('i')
    const memText = h('span', { class: 'num' })
    const memBar = h('i')
    const diskText = h('span', { class: 'num' })
    const diskBar = h('i')
    const containers = h('span', { class: 'num' })
    const version = h('span')
    const platform = h('span')
    const cluster = h('span')
    const tr = /** @type {HTMLTableRowElement} */ (
      h(
        'tr',
        { 'data-node': node.id },
        h('th', { scope: 'row', 'data-label': 'Node' }, link),
        cell('Status', status, ' ', seen),
        cell('CPU', cpuText, h('span', { class: 'meter', 'aria-hidden': 'true' }, cpuBar)),
        cell('Memory', memText, h('span', { class: 'meter', 'aria-hidden': 'true' }, memBar)),
        cell('Disk', diskText, h('span', { class: 'meter', 'aria-hidden': 'true' }, diskBar)),
        cell('Containers', containers),
        cell('Version', version),
        cell('Platform', platform),
        cell('Cluster', cluster),
      )
    )
    /** @type {Row} */
    const row = { tr, node, cells: { link, status, seen, cpuText, memText, diskText, containers, version, platform, cluster }, bars: { cpuBar, memBar, diskBar }, visible: false, dirty: true }
    byElement.set(tr, row)
    viewport.observe(tr)
    paint(row)
    return row
  }

  /** @param {HTMLElement} bar @param {number | undefined} value */
  function setBar(bar, value) {
    // A transform, not a width: the compositor moves it without laying the table out again.
    const scale = `scaleX(${value === undefined ? 0 : (value / 100).toFixed(3)})`
    if (bar.style.transform !== scale) bar.style.transform = scale
    attr(bar, 'class', level(value))
  }

  // Rows off screen only remember that they changed; they are drawn when scrolled into view, so a
  // thousand nodes reporting costs the same as the dozen on screen.
  /** @type {WeakMap<Element, Row>} */
  const byElement = new WeakMap()
  const viewport = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const row = byElement.get(entry.target)
        if (!row) continue
        row.visible = entry.isIntersecting
        if (row.visible && row.dirty) draw(row)
      }
    },
    { rootMargin: '300px 0px' },
  )

  /** @param {Row} row */
  function paint(row) {
    const hide = !matches(row.node)
    if (row.tr.hidden !== hide) row.tr.hidden = hide
    if (row.visible) draw(row)
    else row.dirty = true
  }

  /** @param {Row} row */
  function draw(row) {
    row.dirty = false
    const { node, cells, bars } = row
    const m = node.metrics
    text(cells.link, node.name)
    text(cells.status, statusLabel(node.status))
    attr(cells.status, 'data-status', node.status)
    text(cells.seen, node.status === 'online' ? '' : node.lastSeen ? `seen ${ago(node.lastSeen)}` : '')
    const cpu = m?.cpuPercent
    text(cells.cpuText, pct(cpu))
    setBar(bars.cpuBar, cpu)
    const memPct = ratio(m?.memoryUsedMB, m?.memoryTotalMB)
    text(cells.memText, m?.memoryUsedMB === undefined ? DASH : `${mb(m.memoryUsedMB)} / ${mb(m.memoryTotalMB)}`)
    setBar(bars.memBar, memPct)
    const diskPct = ratio(m?.diskUsedGB, m?.diskTotalGB)
    text(cells.diskText, m?.diskUsedGB === undefined ? DASH : `${gb(m.diskUsedGB)} / ${gb(m.diskTotalGB)}`)
    setBar(bars.diskBar, diskPct)
    text(cells.containers, m?.containersRunning === undefined ? DASH : String(m.containersRunning))
    text(cells.version, node.version || DASH)
    text(cells.platform, [node.platform, node.architecture].filter(Boolean).join(' · ') || DASH)
    text(cells.cluster, node.cluster || DASH)
  }

  /** @param {FleetNode} node */
  function matches(node) {
    if (clusterFilter.value && node.cluster !== clusterFilter.value) return false
    if (statusFilter.value && node.status !== statusFilter.value) return false
    const q = search.value.trim().toLowerCase()
    if (q && ![node.name, node.hostname, node.platform, node.version, node.cluster, node.ipAddress].some((v) => v.toLowerCase().includes(q))) return false
    return true
  }

  let lastSummary = ''
  function refreshChrome() {
    let online = 0
    let reconnecting = 0
    let shown = 0
    const clusters = new Set()
    for (const { node, tr } of rows.values()) {
      if (node.status === 'online') online++
      if (node.status === 'reconnecting') reconnecting++
      if (!tr.hidden) shown++
      if (node.cluster) clusters.add(node.cluster)
    }
    const s = rows.size ? `${rows.size} node${rows.size === 1 ? '' : 's'} · ${online} online${reconnecting ? ` · ${reconnecting} reconnecting` : ''} · ${rows.size - online - reconnecting} offline` : ''
    if (s !== lastSummary) text(summary, (lastSummary = s))
    const known = new Set([...clusterFilter.options].map((o) => o.value))
    for (const c of [...clusters].sort()) if (!known.has(c)) clusterFilter.append(h('option', { value: c }, c))
    table.hidden = rows.size === 0
    filters.hidden = rows.size === 0
    empty.hidden = rows.size !== 0
    noMatch.hidden = rows.size === 0 || shown !== 0
    overview.el.hidden = rows.size === 0
    overview.update(rows.values.bind(rows))
  }

  /** Inserts keeping rows ordered by name. @param {Row} row */
  function insertSorted(row) {
    let before = null
    for (const other of rows.values()) {
      if (other !== row && other.node.name.localeCompare(row.node.name) > 0 && (!before || other.node.name.localeCompare(before.node.name) < 0)) before = other
    }
    tbody.insertBefore(row.tr, before ? before.tr : null)
  }

  /** @param {FleetNode[]} nodes */
  function setAll(nodes) {
    const seen = new Set()
    const fresh = []
    for (const node of nodes) {
      seen.add(node.id)
      const row = rows.get(node.id)
      if (row) {
        row.node = node
        paint(row)
      } else {
        const created = createRow(node)
        rows.set(node.id, created)
        fresh.push(created)
      }
    }
    for (const [id, row] of rows) if (!seen.has(id)) (viewport.unobserve(row.tr), row.tr.remove(), rows.delete(id))
    if (fresh.length > 20 || tbody.childElementCount === 0) {
      // A first load: sort once and append in one go instead of searching per row.
      const ordered = [...rows.values()].sort((a, b) => a.node.name.localeCompare(b.node.name))
      const frag = document.createDocumentFragment()
      for (const r of ordered) frag.append(r.tr)
      tbody.append(frag)
    } else for (const r of fresh) insertSorted(r)
    refreshChrome()
  }

  // Pushed changes wait for the next frame, and a node's repeated updates collapse into one paint.
  /** @type {Map<string, (row: Row | undefined) => void>} */
  const pending = new Map()
  let frame = 0
  /** @param {string} id @param {(row: Row | undefined) => void} change */
  function queue(id, change) {
    const prev = pending.get(id)
    pending.set(id, prev ? (row) => (prev(row), change(rows.get(id))) : change)
    frame ||= requestAnimationFrame(flush)
  }
  function flush() {
    frame = 0
    for (const [id, change] of pending) {
      change(rows.get(id))
      const after = rows.get(id)
      if (after) paint(after)
    }
    pending.clear()
    refreshChrome()
  }

  /** @param {any} data */
  function applyNode(data) {
    const node = toNode(data)
    if (!node.id) return
    queue(node.id, (row) => {
      if (row) {
        // A node event without metrics keeps the last ones we drew.
        row.node = { ...node, metrics: node.metrics ?? row.node.metrics, cluster: node.cluster || (data.cluster === null ? '' : row.node.cluster) }
      } else {
        const created = createRow(node)
        rows.set(node.id, created)
        insertSorted(created)
      }
    })
  }

  /** @param {any} data */
  function applyMetrics(data) {
    const id = String(data.agentId ?? data.nodeId ?? data.id ?? '')
    if (!id) return
    const metrics = toMetrics(data)
    queue(id, (row) => {
      if (!row) return void scheduleReload()
      row.node = { ...row.node, metrics, status: 'online', lastSeen: metrics?.timestamp ?? new Date().toISOString() }
    })
  }

  let reloadTimer = 0
  let loading = false
  function scheduleReload() {
    if (reloadTimer) return
    reloadTimer = window.setTimeout(async () => {
      reloadTimer = 0
      await load()
    }, 500)
  }

  async function load() {
    if (loading) return
    loading = true
    try {
      const nodes = asList(await api('GET', '/api/nodes'), 'nodes').map(toNode)
      setAll(nodes)
    } finally {
      loading = false
    }
  }

  const off = onLive(({ target, args }) => {
    const t = target.toLowerCase()
    if (t === 'poll' || t === 'reconnected') return scheduleReload()
    if (/stack|service|command/.test(t)) return
    // The hub decides when a node counts as offline; ask it rather than guess from one disconnect.
    if (/disconnect/.test(t)) return scheduleReload()
    const items = args.flatMap((a) => (Array.isArray(a) ? a : [a])).filter((a) => a && typeof a === 'object')
    if (/remov|delet|prun/.test(t)) {
      for (const item of items) {
        const id = String(/** @type {any} */ (item).agentId ?? /** @type {any} */ (item).id ?? '')
        if (id) queue(id, (row) => row && (viewport.unobserve(row.tr), row.tr.remove(), rows.delete(id)))
      }
      return
    }
    if (!/node|agent|metric|fleet|status|online|offline|connect/.test(t)) return
    if (!items.length) return scheduleReload()
    for (const item of items) {
      const any = /** @type {any} */ (item)
      if (/metric/.test(t) || isMetrics(any)) applyMetrics(any.metrics && any.agentId ? { agentId: any.agentId, ...any.metrics } : any)
      else if (/offline/.test(t) && !('hostname' in any) && !('name' in any)) {
        const id = String(any.agentId ?? any.id ?? '')
        queue(id, (row) => row && (row.node = { ...row.node, status: 'offline', lastSeen: any.lastSeen ?? row.node.lastSeen }))
      } else applyNode(any)
    }
  })

  for (const control of [clusterFilter, statusFilter]) control.addEventListener('change', () => (rows.forEach(paint), refreshChrome()))
  search.addEventListener('input', () => (rows.forEach(paint), refreshChrome()))
  // "last seen" ages even when nothing is pushed.
  const ticker = setInterval(() => rows.forEach((row) => row.node.status === 'offline' && paint(row)), 15000)

  replace(
    empty,
    h('h2', { id: 'empty-title' }, 'No nodes yet — here is how to connect one'),
    h('ol', { class: 'steps' },
      h('li', null, 'Press ', h('strong', null, 'Add node'), ' (above): it makes an agent key and shows one command.'),
      h('li', null, 'Paste that command on the machine you want to manage: it installs the agent and waits until it is connected.'),
      h('li', null, 'The node appears here within seconds, with live metrics.'),
    ),
  )

  await load()
  return {
    el,
    dispose() {
      off()
      overview.dispose()
      clearInterval(ticker)
      clearTimeout(reloadTimer)
      if (frame) cancelAnimationFrame(frame)
      viewport.disconnect()
    },
  }
}
