// Events: the fleet's live timeline (nodes, mid-tiers, containers, stacks, keys, alerts), newest first,
// filtered by node, stack or kind. New events are pushed over the dashboard's live channel (`FleetEvent`
// on /dashboardhub, or /ui/events); when the channel polls or reconnects, what was missed is fetched.
import { api, asList, enc } from '../lib/api.js'
import { h, replace, text } from '../lib/dom.js'
import { dateTime } from '../lib/format.js'
import { onLive } from '../lib/live.js'

const KEEP = 500

/** @param {any} e */
export function eventItem(e) {
  return h('li', { class: 'event', 'data-severity': e.severity, 'data-kind': e.kind },
    h('time', { datetime: e.at }, dateTime(e.at)),
    h('span', { class: 'badge', 'data-status': e.severity === 'critical' ? 'error' : e.severity === 'warning' ? 'partial' : 'running' }, e.kind.replace(/_/g, ' ')),
    h('span', { class: 'message' }, e.message),
    e.stack ? h('a', { class: 'muted small', href: `#/stacks/${enc(e.stack)}` }, e.stack) : null,
  )
}

/** @type {import('../app.js').ViewFactory} */
export default async function eventsPage({ query }) {
  const node = /** @type {HTMLInputElement} */ (h('input', { id: 'events-node', type: 'search', placeholder: 'Node name', value: query.get('node') ?? '', autocomplete: 'off' }))
  const stack = /** @type {HTMLInputElement} */ (h('input', { id: 'events-stack', type: 'search', placeholder: 'Stack name', value: query.get('stack') ?? '', autocomplete: 'off' }))
  const kind = /** @type {HTMLSelectElement} */ (h('select', { id: 'events-kind' },
    [['', 'Everything'], ['node_online,node_reconnect,node_offline,node_removed', 'Nodes'], ['container_start,container_die,container_oom,container_health,container_restart_loop', 'Containers'],
      ['stack_deployed,stack_updated,stack_rollback,stack_failed,stack_destroyed', 'Stacks'], ['alert_firing,alert_resolved', 'Alerts'], ['midtier_connected,midtier_disconnected,key_revoked', 'Mid-tiers and keys']]
      .map(([v, l]) => h('option', { value: v }, l))))
  const list = h('ol', { class: 'timeline', 'aria-live': 'polite', 'aria-label': 'Fleet events, newest first' })
  const summary = h('p', { class: 'summary' })
  let newest = ''
  let count = 0
  let nodeId = ''
  let fetching = Promise.resolve()

  const filters = () => {
    const q = new URLSearchParams()
    if (node.value.trim()) q.set('node', node.value.trim())
    if (stack.value.trim()) q.set('stack', stack.value.trim())
    if (kind.value) q.set('kind', kind.value)
    return q
  }
  /** Whether a pushed event passes the filters (a node by id or host name, as the API takes it). @param {any} e */
  const matches = (e) => {
    const n = node.value.trim()
    if (n && e.nodeId !== n && e.nodeId !== nodeId) return false
    if (stack.value.trim() && e.stack !== stack.value.trim()) return false
    return !kind.value || kind.value.split(',').includes(e.kind)
  }
  /** @param {any[]} fresh oldest first */
  function show(fresh) {
    const shown = fresh.filter((e) => BigInt(e.id) > BigInt(newest || '0'))
    if (!shown.length) return
    if (!count) list.replaceChildren()
    for (const e of shown) list.prepend(eventItem(e))
    newest = shown.at(-1).id
    count += shown.length
    while (list.childElementCount > KEEP) list.lastElementChild?.remove()
    text(summary, `${Math.min(count, KEEP)} event${count === 1 ? '' : 's'} shown`)
  }
  async function reload() {
    const q = filters()
    q.set('limit', '200')
    const events = asList(await api('GET', `/api/events?${q}`), 'events')
    newest = events[0]?.id ?? newest
    count = events.length
    nodeId = ''
    if (node.value.trim()) nodeId = (await api('GET', `/api/nodes/${enc(node.value.trim())}`).catch(() => null))?.id ?? ''
    replace(list, events.length ? events.map(eventItem) : h('li', { class: 'muted' }, 'No events match.'))
    text(summary, `${count} event${count === 1 ? '' : 's'} shown`)
  }
  /** What the live channel may have missed (it was polling, or it reconnected). */
  function catchUp() {
    fetching = fetching.then(async () => {
      try {
        const q = filters()
        q.set('after', newest || '0')
        q.set('limit', '200')
        show(asList(await api('GET', `/api/events?${q}`), 'events'))
      } catch {
        // The next poll or push tries again; the shell's live badge says when the hub is away.
      }
    })
  }
  const offLive = onLive((e) => {
    if (e.target === 'FleetEvent') {
      const event = /** @type {any} */ (e.args[0])
      if (event && matches(event)) show([event])
    } else if (e.target === 'poll' || e.target === 'reconnected') catchUp()
  })
  for (const control of [node, stack]) control.addEventListener('change', () => void reload())
  kind.addEventListener('change', () => void reload())
  await reload()
  return {
    el: h('section', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Events'), summary),
      h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter events', onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), void reload()) },
        h('div', { class: 'field inline' }, h('label', { for: 'events-node' }, 'Node'), node),
        h('div', { class: 'field inline' }, h('label', { for: 'events-stack' }, 'Stack'), stack),
        h('div', { class: 'field inline' }, h('label', { for: 'events-kind' }, 'Kind'), kind)),
      list),
    dispose() {
      offLive()
    },
  }
}

