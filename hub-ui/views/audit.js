// Audit log: who did what and when (sign-ins, deploys, key changes), newest first, filterable.
import { api, asList } from '../lib/api.js'
import { h, replace } from '../lib/dom.js'
import { dateTime, DASH } from '../lib/format.js'

/** @param {any} e */
function toEntry(e) {
  const pick = (/** @type {string[]} */ ...keys) => keys.map((k) => e[k]).find((v) => v !== undefined && v !== null && v !== '')
  const target = pick('target', 'resource', 'subject', 'object')
  const detail = pick('detail', 'details', 'message', 'description')
  return {
    at: pick('at', 'timestamp', 'time', 'createdAt'),
    actor: String(pick('actor', 'user', 'userName', 'username', 'principal') ?? DASH),
    action: String(pick('action', 'event', 'type') ?? DASH),
    target: target === undefined ? '' : typeof target === 'object' ? JSON.stringify(target) : String(target),
    detail: detail === undefined ? '' : typeof detail === 'object' ? JSON.stringify(detail) : String(detail),
    outcome: String(pick('outcome', 'result', 'status') ?? ''),
  }
}

/** @type {import('../app.js').ViewFactory} */
export default async function auditPage() {
  const body = h('div')
  const search = /** @type {HTMLInputElement} */ (h('input', { id: 'audit-filter', type: 'search', placeholder: 'User, action, target…', autocomplete: 'off' }))
  /** @type {ReturnType<typeof toEntry>[]} */
  let entries = []
  let available = true
  try {
    entries = asList(await api('GET', '/api/audit?limit=500'), 'entries', 'events', 'audit').map(toEntry)
    entries.sort((a, b) => String(b.at).localeCompare(String(a.at)))
  } catch (e) {
    if (/** @type {any} */ (e).status !== 404) throw e
    available = false
  }
  function paint() {
    if (!available) return replace(body, h('section', { class: 'empty' }, h('h2', null, 'No audit log on this hub'), h('p', null, 'This hub does not expose an audit log (GET /api/audit).')))
    const q = search.value.trim().toLowerCase()
    const shown = q ? entries.filter((e) => [e.actor, e.action, e.target, e.detail].some((v) => v.toLowerCase().includes(q))) : entries
    replace(
      body,
      shown.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
            h('caption', { class: 'sr-only' }, 'Audit log'),
            h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Target', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', null, shown.slice(0, 500).map((e) => h('tr', null,
              h('td', { 'data-label': 'When' }, dateTime(e.at)),
              h('td', { 'data-label': 'Who' }, e.actor),
              h('td', { 'data-label': 'Action' }, h('span', { class: 'mono' }, e.action), e.outcome && !/^(ok|success)$/i.test(e.outcome) ? h('span', { class: 'badge', 'data-status': 'error' }, e.outcome) : null),
              h('td', { 'data-label': 'Target', class: 'wrap mono' }, e.target || DASH),
              h('td', { 'data-label': 'Details', class: 'wrap' }, e.detail || DASH),
            ))),
          ))
        : h('p', { class: 'muted' }, q ? 'No entries match.' : 'Nothing recorded yet.'),
    )
  }
  search.addEventListener('input', paint)
  paint()
  return {
    el: h('section', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Audit log'), h('p', { class: 'summary' }, available ? `${entries.length} entries` : '')),
      available ? h('div', { class: 'filters' }, h('div', { class: 'field inline grow' }, h('label', { for: 'audit-filter' }, 'Filter'), search)) : null,
      body),
  }
}
