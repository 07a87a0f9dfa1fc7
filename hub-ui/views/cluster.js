// One cluster: its nodes, adding and removing nodes, and deleting the cluster (its nodes stay).
import { api, asList, enc } from '../lib/api.js'
import { h, openDialog, replace, toast } from '../lib/dom.js'
import { toCluster, toNode } from '../lib/model.js'

/** @type {import('../app.js').ViewFactory} */
export default async function clusterPage({ params, navigate }) {
  const name = params.name
  const body = h('div')
  const title = h('h1', null, name)

  async function load() {
    const [clusterData, nodesData] = await Promise.all([api('GET', `/api/clusters/${enc(name)}`), api('GET', '/api/nodes')])
    const cluster = toCluster(clusterData)
    const nodes = asList(nodesData, 'nodes').map(toNode)
    const members = new Set(cluster.nodes)
    const inCluster = nodes.filter((n) => members.has(n.name) || members.has(n.id) || n.cluster === cluster.name)
    const memberKeys = new Set(inCluster.flatMap((n) => [n.id, n.name]))
    // Members the fleet no longer knows still get a row, so they can be removed.
    const orphans = cluster.nodes.filter((m) => !memberKeys.has(m))
    const others = nodes.filter((n) => !inCluster.includes(n))
    const select = /** @type {HTMLSelectElement} */ (h('select', { id: 'add-node', name: 'node' }, others.map((n) => h('option', { value: n.name || n.id }, `${n.name}${n.cluster ? ` (now in ${n.cluster})` : ''}`))))
    const removeButton = (/** @type {string} */ node) =>
      h('button', {
        'data-needs': 'operator',
        type: 'button',
        class: 'small danger',
        'aria-label': `Remove ${node} from ${cluster.name}`,
        onclick: async () => {
          try {
            await api('DELETE', `/api/clusters/${enc(cluster.name)}/nodes/${enc(node)}`)
            toast(`${node} left ${cluster.name}.`)
          } catch (e) {
            toast(/** @type {Error} */ (e).message, 'error')
          }
          await load()
        },
      }, 'Remove')
    replace(
      body,
      cluster.description ? h('p', { class: 'muted' }, cluster.description) : null,
      h('h2', null, 'Nodes'),
      inCluster.length || orphans.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
            h('caption', { class: 'sr-only' }, `Nodes in ${cluster.name}`),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
            h('tbody', null,
              inCluster.map((n) => h('tr', null,
                h('th', { scope: 'row' }, h('a', { href: `#/nodes/${enc(n.id)}` }, n.name)),
                h('td', { 'data-label': 'Status' }, h('span', { class: 'badge', 'data-status': n.status }, n.status)),
                h('td', null, removeButton(n.name || n.id)))),
              orphans.map((m) => h('tr', null, h('th', { scope: 'row' }, m), h('td', { 'data-label': 'Status' }, h('span', { class: 'badge' }, 'unknown')), h('td', null, removeButton(m)))),
            ),
          ))
        : h('p', { class: 'muted' }, 'No nodes in this cluster yet.'),
      others.length
        ? h('form', {
            'data-needs': 'operator',
            class: 'panel inline-form',
            'aria-label': 'Add a node to the cluster',
            onsubmit: async (/** @type {Event} */ e) => {
              e.preventDefault()
              try {
                await api('POST', `/api/clusters/${enc(cluster.name)}/nodes`, { node: select.value })
                toast(`${select.value} joined ${cluster.name}.`)
              } catch (err) {
                toast(/** @type {Error} */ (err).message, 'error')
              }
              await load()
            },
          }, h('div', { class: 'field grow' }, h('label', { for: 'add-node' }, 'Add a node'), select), h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Add to cluster')))
        : null,
    )
  }

  const del = h('button', {
    'data-needs': 'operator',
    type: 'button',
    class: 'danger',
    onclick: () => openDialog({
      title: `Delete cluster ${name}?`,
      body: h('p', null, 'The cluster goes; its nodes stay in the fleet, and stacks already running keep running.'),
      actions: (close) => [
        h('button', { type: 'button', onclick: close }, 'Cancel'),
        h('button', { type: 'button', class: 'danger solid', onclick: async () => {
          try {
            await api('DELETE', `/api/clusters/${enc(name)}`)
            close()
            toast(`Cluster ${name} deleted.`)
            navigate('#/clusters')
          } catch (e) {
            toast(/** @type {Error} */ (e).message, 'error')
          }
        } }, 'Delete cluster'),
      ],
    }),
  }, 'Delete cluster')

  await load()
  return { el: h('section', { class: 'page' }, h('div', { class: 'crumbs' }, h('a', { href: '#/clusters' }, 'Clusters'), ' / '), h('div', { class: 'page-head' }, title, h('div', { class: 'actions' }, del)), body) }
}
