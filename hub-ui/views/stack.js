// One stack: per-service status, image, ports and errors; rolling image update of one service;
// stop (volumes kept), start, and destroy (confirmed by typing the stack's name; volumes go).
import { api, enc } from '../lib/api.js'
import { field, h, openDialog, replace, toast } from '../lib/dom.js'
import { dateTime, DASH } from '../lib/format.js'
import { onLive } from '../lib/live.js'
import { toStack } from '../lib/model.js'

const TRANSITIONAL = /^(pending|pulling|creating|starting|stopping|deploying|updating)$/
const IMAGE_REF = /^(docker:)?[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/

/** @type {import('../app.js').ViewFactory} */
export default async function stackPage({ params, navigate }) {
  const name = params.name
  const head = h('div', { class: 'page-head' })
  const summary = h('div')
  const services = h('div')
  /** @type {import('../lib/model.js').StackView} */
  let stack = toStack(await api('GET', `/api/stacks/${enc(name)}`))
  let busy = false

  /** @param {string} label @param {() => Promise<unknown>} action @param {string} done */
  async function run(label, action, done) {
    if (busy) return
    busy = true
    paint()
    try {
      await action()
      toast(done)
    } catch (e) {
      toast(`${label} failed: ${/** @type {Error} */ (e).message}`, 'error')
    } finally {
      busy = false
      await load()
    }
  }

  function destroyDialog() {
    const confirmField = field({
      label: `Type ${stack.name} to confirm`,
      control: h('input', { name: 'confirm', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' }),
    })
    const input = /** @type {HTMLInputElement} */ (confirmField.control)
    const go = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'danger solid', disabled: true, form: 'destroy-form' }, 'Destroy stack'))
    input.addEventListener('input', () => (go.disabled = input.value !== stack.name))
    const { close } = openDialog({
      title: `Destroy ${stack.name}?`,
      body: h(
        'form',
        {
          id: 'destroy-form',
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault()
            if (input.value !== stack.name) return confirmField.setError(`Type the stack's name, ${stack.name}, exactly.`)
            close()
            void run('Destroy', () => api('DELETE', `/api/stacks/${enc(stack.name)}`), `Stack ${stack.name} was destroyed.`).then(() => navigate('#/stacks'))
          },
        },
        h('p', { class: 'callout' }, 'This removes every container, the stack\u2019s network ', h('strong', null, 'and its volumes, with all the data in them'), '. It cannot be undone. To keep the data, stop the stack instead.'),
        confirmField.el,
      ),
      actions: (closeIt) => [h('button', { type: 'button', onclick: closeIt }, 'Cancel'), go],
    })
    input.focus()
  }

  /** @param {import('../lib/model.js').StackServiceView} svc */
  function updateDialog(svc) {
    const imageField = field({
      label: 'New image',
      control: h('input', { name: 'image', value: svc.image, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' }),
      hint: `Only ${svc.name} is replaced: the new image is pulled first, and the old container comes back if the new one fails to start.`,
    })
    const input = /** @type {HTMLInputElement} */ (imageField.control)
    const { close } = openDialog({
      title: `Update ${svc.name}`,
      body: h(
        'form',
        {
          id: 'update-form',
          novalidate: true,
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault()
            const image = input.value.trim()
            if (!image) return imageField.setError('Enter an image reference, e.g. nginx:1.27-alpine.')
            if (!IMAGE_REF.test(image)) return imageField.setError(`'${image}' is not a valid image reference.`)
            if (image.replace(/^docker:/, '') === svc.image) return imageField.setError(`${svc.name} already runs ${svc.image}.`)
            close()
            void run(
              'Update',
              () => api('PATCH', `/api/stacks/${enc(stack.name)}/services/${enc(svc.name)}`, { image }),
              `Updating ${svc.name} to ${image}.`,
            )
          },
        },
        h('p', null, 'Current image: ', h('code', null, svc.image || DASH)),
        imageField.el,
      ),
      actions: (closeIt) => [h('button', { type: 'button', onclick: closeIt }, 'Cancel'), h('button', { type: 'submit', class: 'primary', form: 'update-form' }, 'Update image')],
    })
    input.select()
  }

  function paint() {
    const s = stack
    const stopped = s.status === 'stopped'
    replace(
      head,
      h('h1', null, s.name),
      h('span', { class: 'badge', 'data-status': s.status }, s.status),
      h(
        'div',
        { class: 'actions' },
        stopped
          ? h('button', { type: 'button', 'data-needs': 'operator', disabled: busy || undefined, onclick: () => run('Start', () => api('POST', `/api/stacks/${enc(s.name)}/start`), `Starting ${s.name}.`) }, 'Start')
          : h('button', { type: 'button', 'data-needs': 'operator', disabled: busy || undefined, onclick: () => run('Stop', () => api('POST', `/api/stacks/${enc(s.name)}/stop`), `Stopping ${s.name}; volumes are kept.`) }, 'Stop'),
        h('button', { type: 'button', 'data-needs': 'operator', class: 'danger', disabled: busy || undefined, onclick: destroyDialog }, 'Destroy…'),
      ),
    )
    replace(
      summary,
      s.error ? h('p', { class: 'error-box', role: 'alert' }, s.error) : null,
      s.rolledBack ? h('p', { class: 'note-box', role: 'status' }, `Last deploy ${s.rolledBack}`) : null,
      h('dl', { class: 'facts panel' },
        h('dt', null, 'Node'), h('dd', null, s.nodeId ? h('a', { href: `#/nodes/${enc(s.nodeId)}` }, s.node || s.nodeId) : s.node || DASH),
        s.cluster ? [h('dt', null, 'Cluster'), h('dd', null, s.cluster)] : null,
        h('dt', null, 'Deployed'), h('dd', null, dateTime(s.createdAt)),
        h('dt', null, 'Updated'), h('dd', null, dateTime(s.updatedAt)),
      ),
    )
    replace(
      services,
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
        h('caption', { class: 'sr-only' }, `Services of ${s.name}`),
        h('thead', null, h('tr', null, ['Service', 'Status', 'Image', 'Ports', 'Problem', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
        h('tbody', null, s.services.map((svc) =>
          h('tr', { 'data-service': svc.name },
            h('th', { scope: 'row' }, svc.name),
            h('td', { 'data-label': 'Status' }, h('span', { class: 'badge', 'data-status': svc.status }, svc.status)),
            h('td', { 'data-label': 'Image', class: 'mono' }, svc.image || DASH),
            h('td', { 'data-label': 'Ports', class: 'mono' }, svc.ports.join(', ') || DASH),
            h('td', { 'data-label': 'Problem', class: 'wrap' }, svc.error ? h('span', { class: 'field-error' }, svc.error) : DASH),
            h('td', { 'data-label': '' }, h('button', { type: 'button', 'data-needs': 'operator', class: 'small', disabled: busy || undefined, 'aria-label': `Update image of ${svc.name}`, onclick: () => updateDialog(svc) }, 'Update image')),
          ),
        )),
      )),
    )
  }

  let timer = 0
  async function load() {
    try {
      stack = toStack(await api('GET', `/api/stacks/${enc(name)}`))
    } catch (e) {
      if (/** @type {any} */ (e).status === 404) return void replace(services, h('p', { class: 'muted' }, 'This stack no longer exists.'))
      return
    }
    paint()
    clearTimeout(timer)
    // While something is on its way, look again soon even without a push.
    if (TRANSITIONAL.test(stack.status) || stack.services.some((x) => TRANSITIONAL.test(x.status))) timer = window.setTimeout(load, 1500)
  }
  const off = onLive(({ target }) => {
    if (/stack|service|poll|reconnected/i.test(target)) {
      clearTimeout(timer)
      timer = window.setTimeout(load, 200)
    }
  })
  paint()
  if (TRANSITIONAL.test(stack.status)) timer = window.setTimeout(load, 1500)
  return {
    el: h('section', { class: 'page' }, h('div', { class: 'crumbs' }, h('a', { href: '#/stacks' }, 'Stacks'), ' / '), head, summary, h('h2', null, 'Services'), services),
    dispose: () => (off(), clearTimeout(timer)),
  }
}
