// A log panel: a container's or a stack's logs (all services together or one), followed live, with
// pause, search, ANSI colours and download. Keeps the newest lines only, so a chatty container cannot
// grow the page without end.
import { h, replace, toast } from '../lib/dom.js'
import { ansiSpans, readNdjson } from './streams.js'

const MAX_LINES = 5000

/**
 * @param {{ path: string, label: string, services?: string[], service?: string }} spec
 *   path: the NDJSON route without query (`/api/stacks/x/logs`); services: offer a per-service choice;
 *   service: the one shown first.
 */
export function logPanel({ path, label, services, service: first }) {
  /** @type {Array<{ text: string, el: HTMLElement }>} */
  let lines = []
  let paused = false
  /** @type {HTMLElement[]} */
  let held = []
  let controller = new AbortController()
  const output = h('pre', { class: 'log-output', role: 'log', 'aria-label': `Logs of ${label}`, 'aria-live': 'off', tabindex: '0' })
  const status = h('span', { class: 'muted log-status' })
  const follow = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', checked: true, name: 'follow' }))
  const search = /** @type {HTMLInputElement} */ (h('input', { type: 'search', name: 'search', placeholder: 'Search', 'aria-label': 'Search the logs' }))
  const service = /** @type {HTMLSelectElement} */ (
    h('select', { name: 'service', 'aria-label': 'Service' }, h('option', { value: '' }, 'All services'), (services ?? []).map((s) => h('option', { value: s }, s)))
  )
  if (first) service.value = first
  const pause = h('button', { type: 'button', class: 'small', 'aria-pressed': 'false' }, 'Pause')
  const width = Math.max(0, ...(services ?? []).map((s) => s.length))

  const matches = (/** @type {string} */ text) => !search.value || text.toLowerCase().includes(search.value.toLowerCase())
  const add = (/** @type {any} */ record) => {
    let text
    /** @type {Node[]} */
    let body
    if (typeof record.line === 'string') {
      const prefix = record.service && !service.value ? `${String(record.service).padEnd(width)} | ` : ''
      text = prefix + record.line
      body = [prefix ? h('span', { class: 'log-service' }, prefix) : null, ...ansiSpans(record.line)].filter(Boolean)
    } else if (typeof record.dropped === 'number') {
      text = `… ${record.dropped} lines dropped: they came faster than this page read them`
      body = [h('em', null, text)]
    } else if (record.end && record.error) {
      text = `(the log stream ended: ${record.error})`
      body = [h('em', null, text)]
    } else return
    const el = h('div', { class: record.stream === 'stderr' ? 'log-line stderr' : 'log-line', hidden: !matches(text) || undefined }, body)
    lines.push({ text, el })
    if (paused) held.push(el)
    else output.append(el)
    if (lines.length > MAX_LINES) {
      const gone = lines.splice(0, lines.length - MAX_LINES)
      for (const line of gone) line.el.remove()
    }
    if (!paused && follow.checked) output.scrollTop = output.scrollHeight
  }

  async function start() {
    controller.abort()
    controller = new AbortController()
    lines = []
    held = []
    replace(output)
    const query = new URLSearchParams({ tail: '500' })
    if (follow.checked) query.set('follow', 'true')
    if (service.value) query.set('service', service.value)
    status.textContent = follow.checked ? 'Following…' : 'Loading…'
    try {
      await readNdjson(`${path}?${query}`, add, controller.signal)
      if (!controller.signal.aborted) status.textContent = `${lines.length} lines`
    } catch (error) {
      if (!controller.signal.aborted) status.textContent = /** @type {Error} */ (error).message
    }
  }

  pause.addEventListener('click', () => {
    paused = !paused
    pause.textContent = paused ? 'Resume' : 'Pause'
    pause.setAttribute('aria-pressed', String(paused))
    if (!paused) {
      output.append(...held)
      held = []
      output.scrollTop = output.scrollHeight
    }
  })
  search.addEventListener('input', () => {
    for (const line of lines) line.el.hidden = !matches(line.text)
  })
  follow.addEventListener('change', () => void start())
  service.addEventListener('change', () => void start())
  const download = () => {
    const blob = new Blob([lines.map((l) => l.text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')).join('\n') + '\n'], { type: 'text/plain' })
    const a = h('a', { href: URL.createObjectURL(blob), download: `${label.replace(/[^\w.-]+/g, '_')}.log` })
    a.click()
    setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href), 1000)
    toast('Downloading the lines shown.')
  }

  void start()
  return {
    el: h(
      'div',
      { class: 'log-panel panel' },
      h(
        'div',
        { class: 'log-controls' },
        services && services.length > 1 ? service : null,
        h('label', { class: 'inline' }, follow, ' Follow'),
        pause,
        search,
        h('button', { type: 'button', class: 'small', onclick: download }, 'Download'),
        status,
      ),
      output,
    ),
    dispose: () => controller.abort(),
  }
}
