// One container's CPU and memory over the last hour, in a dialog opened from the node page's container
// table (the per-minute history the hub keeps from the agent's container stats). Loaded when first opened.
import { api, enc } from '../lib/api.js'
import { h, openDialog, replace } from '../lib/dom.js'
import { lineChart } from '../lib/chart.js'

const HOUR = 3600_000

/** @param {{ base: string, container: string }} options */
export function openContainerUsage({ base, container }) {
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'))
  const { dialog } = openDialog({ title: `Usage: ${container}`, body, actions: (close) => h('button', { type: 'button', class: 'primary', onclick: close }, 'Close') })
  dialog.classList.add('wide')
  void load(body, base, container)
}

/** @param {HTMLElement} body @param {string} base @param {string} container */
async function load(body, base, container) {
  const to = Date.now()
  const from = to - HOUR
  try {
    const answer = await api('GET', `${base}/containers/metrics?container=${enc(container)}&from=${enc(new Date(from).toISOString())}&to=${enc(new Date(to).toISOString())}`)
    const points = /** @type {any[]} */ (answer.containers?.find((/** @type {any} */ c) => c.name === container)?.points ?? [])
    const times = points.map((p) => Date.parse(p.at))
    const figure = (/** @type {string} */ title, /** @type {Element} */ svg) => h('figure', { class: 'chart-wrap' }, h('h3', null, title), svg)
    replace(
      body,
      points.length === 0
        ? h('p', { class: 'muted' }, 'No usage recorded for this container in the last hour yet: the agent measures containers every container-stats-interval.')
        : [
            figure('CPU % of one core', lineChart({ title: `${container} CPU percent of one core`, times, from, to, unit: '%', series: [{ label: 'CPU', className: 's1', values: points.map((p) => p.cpuPercent ?? undefined) }] })),
            figure('Memory MB', lineChart({ title: `${container} memory in MB`, times, from, to, unit: ' MB', series: [{ label: 'Memory', className: 's2', values: points.map((p) => p.memoryMb) }] })),
          ],
    )
  } catch (e) {
    replace(body, h('p', { class: 'error-box' }, `Usage history is unavailable: ${/** @type {Error} */ (e).message}`))
  } finally {
    body.removeAttribute('aria-busy')
  }
}
