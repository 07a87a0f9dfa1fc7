// Stacks: every stack with its status, node and services; refreshed when the hub pushes stack changes.
import { api, asList, enc } from '../lib/api.js'
import { h, replace } from '../lib/dom.js'
import { ago, DASH } from '../lib/format.js'
import { onLive } from '../lib/live.js'
import { toStack } from '../lib/model.js'

/** @type {import('../app.js').ViewFactory} */
export default async function stacksPage() {
  const body = h('div')
  async function load() {
    const stacks = asList(await api('GET', '/api/stacks'), 'stacks').map(toStack).sort((a, b) => a.name.localeCompare(b.name))
    if (!stacks.length) {
      replace(body, h('section', { class: 'empty' }, h('h2', null, 'No stacks yet'), h('p', null, 'A stack is a set of services deployed together on one node, in dependency order. ', h('a', { href: '#/stacks/new' }, 'Deploy your first stack'), ' from a JSON definition.')))
      return
    }
    replace(
      body,
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
        h('caption', { class: 'sr-only' }, 'Stacks'),
        h('thead', null, h('tr', null, ['Stack', 'Status', 'Node', 'Services', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, stacks.map((s) => {
          const running = s.services.filter((x) => x.status === 'running').length
          return h('tr', { 'data-stack': s.name },
            h('th', { scope: 'row' }, h('a', { href: `#/stacks/${enc(s.name)}` }, s.name)),
            h('td', { 'data-label': 'Status' }, h('span', { class: 'badge', 'data-status': s.status }, s.status), s.error ? h('div', { class: 'field-error small' }, s.error) : null, s.rolledBack ? h('div', { class: 'muted small' }, s.rolledBack) : null),
            h('td', { 'data-label': 'Node' }, s.nodeId ? h('a', { href: `#/nodes/${enc(s.nodeId)}` }, s.node || s.nodeId) : s.node || DASH),
            h('td', { 'data-label': 'Services' }, s.services.length ? `${running}/${s.services.length} running` : DASH),
            h('td', { 'data-label': 'Updated' }, ago(s.updatedAt ?? s.createdAt)),
          )
        })),
      )),
    )
  }
  let timer = 0
  const off = onLive(({ target }) => {
    if (!/stack|service|poll|reconnected/i.test(target)) return
    clearTimeout(timer)
    timer = window.setTimeout(() => void load().catch(() => {}), 300)
  })
  await load()
  return {
    el: h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Stacks'), h('div', { class: 'actions' }, h('a', { href: '#/stacks/new', class: 'btn primary', 'data-needs': 'operator' }, 'Deploy a stack'))), body),
    dispose: () => (off(), clearTimeout(timer)),
  }
}
