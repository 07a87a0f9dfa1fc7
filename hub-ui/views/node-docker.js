// The node page's Docker section: every container on the engine grouped by thresh stack and Compose
// project (state, health, image, uptime, restarts, ports, live CPU/memory/network) with start, stop,
// restart and remove; images with remove and prune; volumes with remove; environments with remove.
// A stack's containers and volumes change through the stack: their buttons are disabled with the reason.
import { api, enc } from '../lib/api.js'
import { h, openDialog, replace, toast } from '../lib/dom.js'
import { DASH, duration, mb, pct } from '../lib/format.js'

/** @param {number | undefined} n */
function bytes(n) {
  if (typeof n !== 'number') return DASH
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`
}

/**
 * A button that runs `work`, or a disabled one saying why not (`reason`); operators only.
 * @param {string} label @param {string} name @param {() => Promise<void>} work @param {string} [reason] @param {boolean} [danger]
 */
function actionButton(label, name, work, reason, danger) {
  const button = h('button', {
    type: 'button',
    'data-needs': 'operator',
    class: danger ? 'danger small' : 'small',
    'aria-label': `${label} ${name}`,
    title: reason,
    'data-reason': reason,
    disabled: Boolean(reason),
    onclick: async () => {
      button.setAttribute('disabled', '')
      try {
        await work()
      } catch (e) {
        toast(/** @type {Error} */ (e).message, 'error')
      } finally {
        button.removeAttribute('disabled')
      }
    },
  }, label)
  return button
}

/** Asks first, then runs `work`. @param {string} title @param {string} text @param {string} confirmLabel @param {() => Promise<void>} work */
function confirmed(title, text, confirmLabel, work) {
  return new Promise((resolve) => {
    openDialog({
      title,
      body: h('p', null, text),
      actions: (close) => [
        h('button', { type: 'button', onclick: () => (close(), resolve(undefined)) }, 'Cancel'),
        h('button', { type: 'button', class: 'danger solid', onclick: async () => (close(), resolve(await work())) }, confirmLabel),
      ],
    })
  })
}

const table = (/** @type {string[]} */ heads, /** @type {HTMLElement[]} */ rows, /** @type {string} */ label) =>
  h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify', 'aria-label': label }, h('thead', null, h('tr', null, heads.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', null, rows)))

const cell = (/** @type {string} */ label, /** @type {any[]} */ ...content) => h('td', { 'data-label': label }, ...content)

/** @param {{ id: string, name: string }} node */
export function dockerSection(node) {
  const base = `/api/nodes/${enc(node.id)}`
  const containers = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Asking the node…'))
  const images = h('div')
  const volumes = h('div')
  const environments = h('div')

  /** @param {string} what @param {string} method @param {string} path @param {unknown} [body] @param {() => Promise<void>} [after] */
  const act = async (what, method, path, body, after) => {
    const answer = await api(method, `${base}${path}`, body)
    toast(answer?.message ?? `${what} done.`)
    await (after ?? loadContainers)()
  }

  /** Its usage history and logs (in dialogs) and, while it runs, a terminal in it; the modules load when first used. @param {string} container @param {boolean} running */
  const streamButtons = (container, running) => [
    h('button', { type: 'button', class: 'small', 'aria-label': `Usage of ${container}`, onclick: async () => {
      const { openContainerUsage } = await import('./container-usage.js')
      openContainerUsage({ base, container })
    } }, 'Usage'),
    h('button', { type: 'button', class: 'small', 'aria-label': `Logs of ${container}`, onclick: async () => {
      const { logPanel } = await import('./log-view.js')
      const panel = logPanel({ path: `${base}/containers/${enc(container)}/logs`, label: container })
      const { dialog } = openDialog({ title: `Logs: ${container}`, body: panel.el, actions: (close) => h('button', { type: 'button', class: 'primary', onclick: close }, 'Close') })
      dialog.classList.add('terminal-dialog')
      dialog.addEventListener('close', () => panel.dispose())
    } }, 'Logs'),
    running
      ? h('button', { type: 'button', class: 'small', 'data-needs': 'operator', 'aria-label': `Terminal in ${container}`, onclick: async () => {
          const { openTerminal } = await import('./terminal.js')
          await openTerminal({ execPath: `${base}/containers/${enc(container)}/exec`, label: container }).catch((e) => toast(e.message, 'error'))
        } }, 'Terminal')
      : null,
  ]

  /** @param {any} c */
  function containerRow(c) {
    const managed = c.managedBy
    const reason = managed ? (managed.kind === 'stack' ? `Part of stack ${managed.name}: change it through the stack.` : 'The proxy thresh runs for routed stacks.') : undefined
    const running = c.state === 'running'
    const path = `/containers/${enc(c.name)}`
    return h('tr', { 'data-container': c.name },
      h('th', { scope: 'row', class: 'mono' }, c.name, managed ? h('div', { class: 'muted small' }, reason) : null),
      cell('State', h('span', { class: 'badge', 'data-status': running ? 'running' : c.state === 'restarting' ? 'starting' : 'stopped' }, c.state), c.health ? h('span', { class: 'muted small' }, ` ${c.health}`) : null),
      cell('Image', h('span', { class: 'mono' }, c.image)),
      cell('Uptime', c.uptimeSeconds === null || c.uptimeSeconds === undefined ? DASH : c.uptimeSeconds < 60 ? `${c.uptimeSeconds}s` : duration(c.uptimeSeconds)),
      cell('Restarts', String(c.restartCount ?? 0)),
      cell('CPU', pct(c.cpuPercent, 1)),
      cell('Memory', c.memoryMB === undefined ? DASH : mb(c.memoryMB)),
      cell('Net rx / tx', c.netRxBytes === undefined ? DASH : `${bytes(c.netRxBytes)} / ${bytes(c.netTxBytes)}`),
      cell('Ports', c.ports?.length ? h('span', { class: 'mono small' }, c.ports.join(', ')) : DASH),
      cell('Actions',
        h('div', { class: 'row-actions' },
          running
            ? actionButton('Stop', c.name, () => act('Stop', 'POST', `${path}/stop`), reason)
            : actionButton('Start', c.name, () => act('Start', 'POST', `${path}/start`), reason),
          actionButton('Restart', c.name, () => act('Restart', 'POST', `${path}/restart`), reason),
          actionButton('Remove', c.name, () => confirmed(`Remove ${c.name}?`, running ? 'It is running: it will be killed and removed. Its volumes stay.' : 'The container is removed; its volumes stay.', 'Remove container', () => act('Remove', 'DELETE', `${path}?force=true`)), reason, true),
          streamButtons(c.name, running),
        )),
    )
  }

  async function loadContainers() {
    containers.setAttribute('aria-busy', 'true')
    try {
      const answer = await api('GET', `${base}/containers`)
      const groups = /** @type {any[]} */ (answer.groups ?? [])
      replace(containers, groups.length === 0 ? h('p', { class: 'muted' }, 'No containers on this node.') : groups.map((g) =>
        h('section', { class: 'container-group', 'data-group': `${g.kind}:${g.name ?? ''}` },
          h('h3', null, g.kind === 'stack' ? ['Stack ', h('a', { href: `#/stacks/${enc(g.name)}` }, g.name)] : g.kind === 'compose' ? `Compose project ${g.name}` : 'Other containers'),
          table(['Name', 'State', 'Image', 'Uptime', 'Restarts', 'CPU', 'Memory', 'Net rx / tx', 'Ports', 'Actions'], g.containers.map(containerRow), `Containers: ${g.name ?? 'other'}`),
        )))
    } catch (e) {
      replace(containers, h('p', { class: 'error-box' }, `Containers are unavailable: ${/** @type {Error} */ (e).message}`))
    } finally {
      containers.removeAttribute('aria-busy')
    }
  }

  async function loadImages() {
    try {
      const list = /** @type {any[]} */ ((await api('GET', `${base}/images`)).images ?? [])
      const prune = actionButton('Prune unused images', 'images', () => confirmed('Prune unused images?', 'Every image no container uses is removed from the node; they are pulled again when needed.', 'Prune', () => act('Prune', 'POST', '/images/prune', { all: true }, loadImages)))
      replace(images, h('div', { class: 'actions' }, prune), list.length === 0 ? h('p', { class: 'muted' }, 'No images.') : table(['Image', 'Id', 'Size', 'Used by', 'Actions'], list.map((i) => {
        const name = i.tags[0] ?? i.id
        return h('tr', { 'data-image': name },
          h('th', { scope: 'row', class: 'mono' }, i.tags.join(', ') || '<none>'),
          cell('Id', h('span', { class: 'mono' }, i.id)),
          cell('Size', mb(i.sizeMB)),
          cell('Used by', i.containers ? `${i.containers} container(s)` : 'unused'),
          cell('Actions', actionButton('Remove', name, () => confirmed(`Remove image ${name}?`, 'The image is deleted from the node.', 'Remove image', () => act('Remove', 'DELETE', `/images/${enc(name)}`, undefined, loadImages)), i.containers ? 'Containers use it.' : undefined, true)),
        )
      }), 'Images'))
    } catch (e) {
      replace(images, h('p', { class: 'error-box' }, `Images are unavailable: ${/** @type {Error} */ (e).message}`))
    }
  }

  async function loadVolumes() {
    try {
      const list = /** @type {any[]} */ ((await api('GET', `${base}/volumes`)).volumes ?? [])
      replace(volumes, list.length === 0 ? h('p', { class: 'muted' }, 'No volumes.') : table(['Volume', 'Driver', 'Used by', 'Actions'], list.map((v) => {
        const reason = v.managedBy ? `Part of stack ${v.managedBy.name}: destroy the stack to remove it.` : v.containers.length ? 'In use by a container.' : undefined
        return h('tr', { 'data-volume': v.name },
          h('th', { scope: 'row', class: 'mono' }, v.name),
          cell('Driver', v.driver),
          cell('Used by', v.containers.length ? h('span', { class: 'mono small' }, v.containers.join(', ')) : 'unused'),
          cell('Actions', actionButton('Remove', v.name, () => confirmed(`Remove volume ${v.name}?`, 'Its data is deleted for good.', 'Remove volume', () => act('Remove', 'DELETE', `/volumes/${enc(v.name)}`, undefined, loadVolumes)), reason, true)),
        )
      }), 'Volumes'))
    } catch (e) {
      replace(volumes, h('p', { class: 'error-box' }, `Volumes are unavailable: ${/** @type {Error} */ (e).message}`))
    }
  }

  async function loadEnvironments() {
    try {
      const list = /** @type {any[]} */ ((await api('GET', `${base}/environments`)).environments ?? [])
      replace(environments, list.length === 0 ? h('p', { class: 'muted' }, 'No environments: create one with thresh node up.') : table(['Environment', 'Status', 'Services', 'Actions'], list.map((e) =>
        h('tr', { 'data-environment': e.name },
          h('th', { scope: 'row' }, e.name),
          cell('Status', h('span', { class: 'badge', 'data-status': e.status }, e.status)),
          cell('Services', e.services.map((/** @type {any} */ s) => `${s.name} (${s.image ?? '?'})`).join(', ') || DASH),
          cell('Actions', actionButton('Remove', e.name, () => confirmed(`Remove environment ${e.name}?`, 'Its containers, network and volumes are deleted.', 'Remove environment', () => act('Remove', 'DELETE', `/environments/${enc(e.name)}`, undefined, async () => void (await Promise.all([loadEnvironments(), loadContainers()])))), undefined, true)),
        )), 'Environments'))
    } catch (e) {
      replace(environments, h('p', { class: 'error-box' }, `Environments are unavailable: ${/** @type {Error} */ (e).message}`))
    }
  }

  const load = () => Promise.all([loadContainers(), loadImages(), loadVolumes(), loadEnvironments()]).then(() => undefined)
  const el = h('div', { class: 'docker' },
    h('div', { class: 'page-head' }, h('h2', null, 'Containers'), h('div', { class: 'actions' }, h('button', { type: 'button', class: 'small', onclick: () => void load() }, 'Refresh'))),
    containers,
    h('h2', null, 'Environments'),
    environments,
    h('h2', null, 'Images'),
    images,
    h('h2', null, 'Volumes'),
    volumes,
  )
  return { el, load }
}
