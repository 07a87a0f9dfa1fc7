// Settings → API keys: create agent and mid-tier keys (the secret is shown once, with a copy button and
// the lines to paste on the node), list, revoke and rotate them.
import { api, asList, enc } from '../lib/api.js'
import { copy, field, h, openDialog, replace, toast } from '../lib/dom.js'
import { ago, dateTime, DASH } from '../lib/format.js'
import { toKey } from '../lib/model.js'

const TYPE_LABEL = /** @type {Record<string, string>} */ ({ agent: 'Agent', midtier: 'Mid-tier', live: 'Agent', mid: 'Mid-tier', cli: 'CLI session' })

/** @param {string} type @param {string} key @param {string} [fingerprint] the fleet CA's, which the node pins */
function setupLines(type, key, fingerprint) {
  const origin = location.origin
  return type === 'midtier' || key.startsWith('thresh_mid_')
    ? [`thresh run --role midtier --hub-url ${origin} --api-key ${key}${fingerprint ? ` --hub-fingerprint ${fingerprint}` : ''} --advertise <its host names>`]
    : [
        `thresh agent config set midtier-url ${origin}`,
        `thresh agent config set api-key ${key}`,
        ...(fingerprint ? [`thresh agent config set hub-fingerprint ${fingerprint}`] : []),
        'thresh agent start',
      ]
}

/** @type {import('../app.js').ViewFactory} */
export default async function keysPage() {
  const list = h('div')
  const reveal = h('div', { 'aria-live': 'polite' })
  // The fleet CA's fingerprint: nodes and mid-tiers pin it, so they trust this hub without --insecure.
  /** @type {string | undefined} */
  let fingerprint = (await api('GET', '/api/tls').catch(() => undefined))?.fingerprint

  /** @param {{ key: string, type: string, name: string, caFingerprint?: string, installCommand?: string }} created @param {string} [note] */
  function showSecret(created, note) {
    fingerprint = created.caFingerprint ?? fingerprint
    const code = h('code', { class: 'mono', 'data-secret': '' }, created.key)
    // An agent key comes with the one command that installs a node with it.
    const lines = created.installCommand ?? setupLines(created.type, created.key, fingerprint).join('\n')
    const pre = h('pre', { class: 'code', tabindex: '0' }, lines)
    replace(
      reveal,
      h('section', { class: 'panel secret-panel', 'aria-labelledby': 'secret-title', tabindex: '-1' },
        h('h2', { id: 'secret-title' }, `New ${TYPE_LABEL[created.type] ?? created.type} key: ${created.name}`),
        h('p', { class: 'callout' }, h('strong', null, 'Copy it now. '), 'This is the only time the hub shows the secret; it keeps only a hash.', note ? ` ${note}` : ''),
        h('div', { class: 'secret' }, code, h('button', { type: 'button', onclick: () => copy(created.key, code) }, 'Copy key')),
        h('p', null, created.type === 'midtier' || created.key.startsWith('thresh_mid_') ? 'Start a mid-tier with it:' : created.installCommand ? 'Add a node: paste this command on it (as root it installs a systemd service):' : 'Paste these lines on the node:'),
        pre,
        fingerprint ? h('p', null, 'Fleet CA fingerprint (pinned by the commands above): ', h('code', { class: 'mono wrap', 'data-fingerprint': '' }, fingerprint)) : null,
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => copy(lines, pre) }, 'Copy commands'), h('button', { type: 'button', class: 'link', onclick: () => replace(reveal) }, 'Done, hide the secret')),
      ),
    )
    ;/** @type {HTMLElement} */ (reveal.firstElementChild).focus()
  }

  async function load() {
    const keys = asList(await api('GET', '/api/keys'), 'keys').map(toKey).sort((a, b) => Number(a.revoked) - Number(b.revoked) || String(b.createdAt).localeCompare(String(a.createdAt)))
    // Shown only when the hub tracks it.
    const lastUsed = keys.some((k) => 'lastUsedAt' in k.raw || 'lastUsed' in k.raw)
    replace(
      list,
      keys.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
            h('caption', { class: 'sr-only' }, 'API keys'),
            h('thead', null, h('tr', null, ['Name', 'Type', 'Key', 'Created', ...(lastUsed ? ['Last used'] : []), 'Status', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
            h('tbody', null, keys.map((k) => {
              const graceful = !k.revoked && Boolean(k.expiresAt)
              const status = k.revoked ? k.status : graceful ? 'expiring' : 'active'
              return h('tr', { 'data-key': k.id },
                h('th', { scope: 'row' }, k.name || DASH),
                h('td', { 'data-label': 'Type' }, TYPE_LABEL[k.type] ?? (k.type || DASH)),
                h('td', { 'data-label': 'Key', class: 'mono' }, k.prefix ? `${k.prefix.replace(/(…|\.\.\.)$/, '')}…` : DASH),
                h('td', { 'data-label': 'Created' }, dateTime(k.createdAt)),
                lastUsed ? h('td', { 'data-label': 'Last used' }, k.lastUsedAt ? ago(k.lastUsedAt) : 'never') : null,
                h('td', { 'data-label': 'Status' }, h('span', { class: 'badge', 'data-status': status }, status), graceful ? h('div', { class: 'muted small' }, `valid until ${dateTime(k.expiresAt)}`) : null),
                h('td', null, k.revoked ? null : h('div', { class: 'actions' },
                  h('button', { type: 'button', class: 'small', 'aria-label': `Rotate ${k.name}`, onclick: () => rotate(k) }, 'Rotate'),
                  h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(k) }, 'Revoke'))),
              )
            })),
          ))
        : h('section', { class: 'empty' }, h('h2', null, 'No keys yet'), h('p', null, 'Create an agent key for each group of nodes you connect, and a mid-tier key for each separate mid-tier.')),
    )
  }

  /** @param {import('../lib/model.js').KeyView} k */
  function revoke(k) {
    openDialog({
      title: `Revoke ${k.name}?`,
      body: h('p', null, `Anything using this ${TYPE_LABEL[k.type] ?? ''} key is disconnected within a minute and cannot reconnect with it. This cannot be undone.`),
      actions: (close) => [
        h('button', { type: 'button', onclick: close }, 'Cancel'),
        h('button', { type: 'button', class: 'danger solid', onclick: async () => {
          close()
          try {
            await api('DELETE', `/api/keys/${enc(k.id)}`)
            toast(`Key ${k.name} revoked.`)
          } catch (e) {
            toast(/** @type {Error} */ (e).message, 'error')
          }
          await load()
        } }, 'Revoke key'),
      ],
    })
  }

  /** @param {import('../lib/model.js').KeyView} k */
  function rotate(k) {
    openDialog({
      title: `Rotate ${k.name}?`,
      body: h('p', null, 'A new secret is issued. The old one keeps working for a grace period so you can update your nodes, then stops.'),
      actions: (close) => [
        h('button', { type: 'button', onclick: close }, 'Cancel'),
        h('button', { type: 'button', class: 'primary', onclick: async () => {
          close()
          try {
            const created = await api('POST', `/api/keys/${enc(k.id)}/rotate`)
            const old = toKey(created?.previous ?? created?.old ?? {})
            await load()
            showSecret({ key: created.key, type: created.type ?? k.type, name: created.name ?? k.name }, old.expiresAt ? `The old secret stops working ${dateTime(old.expiresAt)}.` : 'The old secret stops working after the grace period.')
          } catch (e) {
            toast(/** @type {Error} */ (e).message, 'error')
          }
        } }, 'Rotate key'),
      ],
    })
  }

  const nameField = field({ label: 'Name', control: h('input', { name: 'name', autocomplete: 'off', placeholder: 'home-lab nodes', maxlength: 100 }), hint: 'Who or what will use it, so you know what revoking it breaks.' })
  const createButton = h('button', { type: 'submit', class: 'primary' }, 'Create key')
  const form = h('form', {
    class: 'panel',
    'aria-label': 'Create an API key',
    novalidate: true,
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault()
      const name = /** @type {HTMLInputElement} */ (nameField.control).value.trim()
      const type = /** @type {HTMLInputElement} */ (form.querySelector('input[name=type]:checked')).value
      if (!name) return nameField.setError('Give the key a name.'), nameField.control.focus()
      nameField.setError(null)
      createButton.setAttribute('disabled', '')
      try {
        const created = await api('POST', '/api/keys', { type, name })
        ;/** @type {HTMLInputElement} */ (nameField.control).value = ''
        await load()
        showSecret({ key: created.key, type: created.type ?? type, name: created.name ?? name, caFingerprint: created.caFingerprint, installCommand: created.installCommand })
      } catch (err) {
        nameField.setError(/** @type {Error} */ (err).message)
      } finally {
        createButton.removeAttribute('disabled')
      }
    },
  },
    h('fieldset', null, h('legend', null, 'Type'), h('div', { class: 'radios' },
      h('label', null, h('input', { type: 'radio', name: 'type', value: 'agent', checked: true }), 'Agent key (thresh_live_…) — for nodes'),
      h('label', null, h('input', { type: 'radio', name: 'type', value: 'midtier' }), 'Mid-tier key (thresh_mid_…) — for a separate mid-tier'))),
    nameField.el,
    fingerprint ? h('p', { class: 'hint' }, 'Fleet CA fingerprint: ', h('code', { class: 'mono wrap', 'data-fingerprint': '' }, fingerprint), ' — nodes and mid-tiers pin it (hub-fingerprint), the CLI too (thresh auth login --fingerprint).') : null,
    createButton,
  )

  await load()
  return { el: h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'API keys')), reveal, list, h('h2', null, 'Create a key'), form) }
}
