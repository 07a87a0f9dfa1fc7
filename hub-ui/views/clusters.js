// Clusters: named groups of nodes. Create one here; add and remove nodes on its own page.
import { api, asList, enc } from '../lib/api.js'
import { field, h, replace, toast } from '../lib/dom.js'
import { toCluster } from '../lib/model.js'

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** @type {import('../app.js').ViewFactory} */
export default async function clustersPage({ navigate }) {
  const list = h('div')
  const nameField = field({ label: 'Name', control: h('input', { name: 'name', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', placeholder: 'staging' }), hint: 'Lowercase letters, digits and dashes.' })
  const descField = field({ label: 'Description', control: h('input', { name: 'description', autocomplete: 'off', placeholder: 'Optional' }) })
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create cluster')

  async function load() {
    const clusters = asList(await api('GET', '/api/clusters'), 'clusters').map(toCluster).sort((a, b) => a.name.localeCompare(b.name))
    replace(
      list,
      clusters.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
            h('caption', { class: 'sr-only' }, 'Clusters'),
            h('thead', null, h('tr', null, ['Cluster', 'Description', 'Nodes'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', null, clusters.map((c) => h('tr', null,
              h('th', { scope: 'row' }, h('a', { href: `#/clusters/${enc(c.name)}` }, c.name)),
              h('td', { 'data-label': 'Description', class: 'wrap' }, c.description || '—'),
              h('td', { 'data-label': 'Nodes' }, String(c.nodeCount)),
            ))),
          ))
        : h('section', { class: 'empty' }, h('h2', null, 'No clusters yet'), h('p', null, 'Group related nodes (staging, production, GPU boxes) into a cluster, then deploy stacks to the cluster and let the hub pick a node in it.')),
    )
  }

  const form = h('form', {
    'data-needs': 'operator',
    class: 'panel inline-form',
    'aria-label': 'Create a cluster',
    novalidate: true,
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault()
      const name = /** @type {HTMLInputElement} */ (nameField.control).value.trim()
      const description = /** @type {HTMLInputElement} */ (descField.control).value.trim()
      if (!NAME.test(name)) {
        nameField.setError(name ? 'Use lowercase letters, digits and dashes (at most 63), starting and ending with a letter or digit.' : 'Enter a name for the cluster.')
        return nameField.control.focus()
      }
      nameField.setError(null)
      create.setAttribute('disabled', '')
      try {
        await api('POST', '/api/clusters', { name, description: description || undefined })
        toast(`Cluster ${name} created.`)
        navigate(`#/clusters/${enc(name)}`)
      } catch (err) {
        nameField.setError(/** @type {Error} */ (err).message)
        nameField.control.focus()
      } finally {
        create.removeAttribute('disabled')
      }
    },
  }, nameField.el, descField.el, h('div', { class: 'field' }, create))

  await load()
  return { el: h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Clusters')), list, h('h2', null, 'New cluster'), form) }
}
