// The fleet page's overview: totals (nodes, containers, average load), the busiest nodes, and the
// alerts firing now. Recomputed at most once a second from the rows the fleet page keeps.
import { api, asList, enc } from '../lib/api.js'
import { h, replace, text } from '../lib/dom.js'
import { pct, ratio } from '../lib/format.js'

/** @typedef {import('../lib/model.js').FleetNode} FleetNode */

export function fleetOverview() {
  const nodes = h('dd')
  const online = h('dd')
  const containers = h('dd')
  const cpu = h('dd')
  const busiest = h('ol', { 'aria-label': 'Busiest nodes by CPU' })
  const alerts = h('ul', { 'aria-label': 'Alerts firing now' })
  const alertCount = h('span', { class: 'badge', 'data-status': 'running' }, '0')
  const el = h('div', { class: 'overview', 'aria-label': 'Fleet overview' },
    h('section', { class: 'panel' }, h('h2', null, 'Totals'), h('dl', { class: 'totals' }, h('dt', null, 'Nodes'), nodes, h('dt', null, 'Online'), online, h('dt', null, 'Containers'), containers, h('dt', null, 'Average CPU'), cpu)),
    h('section', { class: 'panel' }, h('h2', null, 'Busiest nodes'), busiest),
    h('section', { class: 'panel' }, h('h2', null, 'Active alerts ', alertCount), alerts),
  )
  /** @type {() => Iterable<{ node: FleetNode }>} */
  let latest = () => []
  let timer = 0
  let last = 0
  const draw = () => {
    timer = 0
    last = Date.now()
    let total = 0, up = 0, running = 0, cpuSum = 0, cpuCount = 0
    /** @type {FleetNode[]} */
    const withCpu = []
    for (const { node } of latest()) {
      total++
      if (node.status !== 'online') continue
      up++
      const m = node.metrics
      running += m?.containersRunning ?? 0
      if (m?.cpuPercent !== undefined) {
        cpuSum += m.cpuPercent
        cpuCount++
        withCpu.push(node)
      }
    }
    text(nodes, String(total))
    text(online, `${up}`)
    text(containers, String(running))
    text(cpu, cpuCount ? pct(cpuSum / cpuCount) : '—')
    const top = withCpu.sort((a, b) => (b.metrics?.cpuPercent ?? 0) - (a.metrics?.cpuPercent ?? 0)).slice(0, 5)
    replace(busiest, top.length
      ? top.map((n) => h('li', null, h('a', { href: `#/nodes/${enc(n.id)}` }, n.name), ` CPU ${pct(n.metrics?.cpuPercent)}, memory ${pct(ratio(n.metrics?.memoryUsedMB, n.metrics?.memoryTotalMB))}`))
      : h('li', { class: 'muted' }, 'No node is reporting yet.'))
  }
  async function loadAlerts() {
    try {
      const firing = asList(await api('GET', '/api/alerts?state=firing&limit=20'), 'alerts')
      text(alertCount, String(firing.length))
      alertCount.dataset.status = firing.length ? 'error' : 'running'
      replace(alerts, firing.length
        ? firing.slice(0, 5).map((a) => h('li', null, h('a', { href: '#/alerts' }, a.ruleName), `: ${a.message}`))
        : h('li', { class: 'muted' }, 'Nothing is firing.'))
    } catch {
      replace(alerts, h('li', { class: 'muted' }, 'Alerts are not available on this hub.'))
    }
  }
  void loadAlerts()
  const alertTimer = setInterval(() => void loadAlerts(), 15000)
  return {
    el,
    /** The rows to count, read when the overview is next drawn. @param {() => Iterable<{ node: FleetNode }>} rows */
    update(rows) {
      latest = rows
      // The first figures are drawn at once; later changes at most once a second.
      if (!last) return draw()
      if (timer) return
      timer = window.setTimeout(draw, Math.max(0, 1000 - (Date.now() - last)))
    },
    dispose() {
      clearInterval(alertTimer)
      clearTimeout(timer)
    },
  }
}
