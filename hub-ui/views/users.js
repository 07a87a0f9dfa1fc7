// Settings → Users: the account's users with their roles (change, remove), invitations (the one-time
// link is shown once, with a copy button) and revoking the pending ones.
import { api, asList, enc, session } from '../lib/api.js'
import { copy, field, h, openDialog, replace, toast } from '../lib/dom.js'
import { dateTime } from '../lib/format.js'

const ROLES = ['viewer', 'operator', 'admin', 'owner']
const ROLE_HINT = /** @type {Record<string, string>} */ ({
  viewer: 'reads the fleet, stacks and clusters',
  operator: 'also deploys, updates, stops, starts and destroys stacks, brings nodes up and changes clusters',
  admin: 'also manages API keys, users and invitations, and reads the audit log',
  owner: 'also manages owners',
})

/** @type {import('../app.js').ViewFactory} */
export default async function usersPage() {
  const myRole = session()?.role ?? 'viewer'
  const grantable = ROLES.filter((r) => r !== 'owner' || myRole === 'owner')
  const users = h('div')
  const invitations = h('div')
  const reveal = h('div', { 'aria-live': 'polite' })

  /** @param {string} selected @param {Record<string, unknown>} attrs */
  const roleSelect = (selected, attrs) => h('select', attrs, grantable.map((r) => h('option', { value: r, selected: r === selected }, r)))

  /** @param {() => Promise<unknown>} action @param {string} done */
  async function attempt(action, done) {
    try {
      await action()
      toast(done)
    } catch (e) {
      toast(/** @type {Error} */ (e).message, 'error')
    }
    await load()
  }

  async function load() {
    const [userList, inviteList] = await Promise.all([api('GET', '/api/users'), api('GET', '/api/invitations')])
    const people = asList(userList, 'users')
    replace(users, h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
      h('caption', { class: 'sr-only' }, 'Users'),
      h('thead', null, h('tr', null, ['User', 'Role', 'Joined', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', null, people.map((u) => {
        // Only an owner may change or remove an owner; the hub refuses it too.
        const locked = u.role === 'owner' && myRole !== 'owner'
        return h('tr', { 'data-user': u.userName },
          h('th', { scope: 'row' }, u.userName, u.you ? h('span', { class: 'muted small' }, ' (you)') : null, u.hubOwner ? h('div', { class: 'muted small' }, 'hub owner') : null),
          h('td', { 'data-label': 'Role' }, locked
            ? u.role
            : roleSelect(u.role, { 'aria-label': `Role of ${u.userName}`, onchange: (/** @type {Event} */ e) => {
                const role = /** @type {HTMLSelectElement} */ (e.target).value
                void attempt(() => api('PATCH', `/api/users/${enc(u.userName)}`, { role }), `${u.userName} is now ${role}.`)
              } })),
          h('td', { 'data-label': 'Joined' }, dateTime(u.createdAt)),
          h('td', null, locked || u.hubOwner ? null : h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${u.userName}`, onclick: () => remove(u.userName) }, 'Remove')),
        )
      })),
    )))
    const pending = asList(inviteList, 'invitations').filter((i) => i.status === 'pending')
    replace(invitations, pending.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' },
          h('caption', { class: 'sr-only' }, 'Pending invitations'),
          h('thead', null, h('tr', null, ['Role', 'Invited by', 'Expires', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
          h('tbody', null, pending.map((i) => h('tr', { 'data-invitation': i.id },
            h('th', { scope: 'row' }, i.role),
            h('td', { 'data-label': 'Invited by' }, i.createdBy),
            h('td', { 'data-label': 'Expires' }, dateTime(i.expiresAt)),
            h('td', null, h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke invitation ${i.id}`, onclick: () => void attempt(() => api('DELETE', `/api/invitations/${enc(i.id)}`), 'Invitation revoked: its link no longer works.') }, 'Revoke')),
          ))),
        ))
      : h('p', { class: 'muted' }, 'No pending invitations.'))
  }

  /** @param {string} name */
  function remove(name) {
    openDialog({
      title: `Remove ${name}?`,
      body: h('p', null, `${name} is signed out everywhere at once and can no longer sign in. Their past actions stay in the audit log.`),
      actions: (close) => [
        h('button', { type: 'button', onclick: close }, 'Cancel'),
        h('button', { type: 'button', class: 'danger solid', onclick: () => (close(), void attempt(() => api('DELETE', `/api/users/${enc(name)}`), `${name} was removed.`)) }, 'Remove user'),
      ],
    })
  }

  /** @param {{ url: string, role: string, expiresAt: string }} created */
  function showLink(created) {
    const code = h('code', { class: 'mono', 'data-secret': '' }, created.url)
    replace(reveal, h('section', { class: 'panel secret-panel', 'aria-labelledby': 'invite-title', tabindex: '-1' },
      h('h2', { id: 'invite-title' }, `Invitation for a new ${created.role}`),
      h('p', { class: 'callout' }, h('strong', null, 'Copy the link now. '), `This is the only time the hub shows it. It works once, until ${dateTime(created.expiresAt)}.`),
      h('div', { class: 'secret' }, code, h('button', { type: 'button', onclick: () => copy(created.url, code) }, 'Copy link')),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'link', onclick: () => replace(reveal) }, 'Done, hide the link')),
    ))
    ;/** @type {HTMLElement} */ (reveal.firstElementChild).focus()
  }

  const roleField = field({ label: 'Role', control: roleSelect('viewer', { name: 'role' }), hint: grantable.map((r) => `${r}: ${ROLE_HINT[r]}`).join('; ') + '.' })
  const inviteButton = h('button', { type: 'submit', class: 'primary' }, 'Create invitation link')
  const form = h('form', {
    class: 'panel',
    'aria-label': 'Invite a user',
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault()
      roleField.setError(null)
      inviteButton.setAttribute('disabled', '')
      try {
        const created = await api('POST', '/api/invitations', { role: /** @type {HTMLSelectElement} */ (roleField.control).value })
        await load()
        showLink(created)
      } catch (err) {
        roleField.setError(/** @type {Error} */ (err).message)
      } finally {
        inviteButton.removeAttribute('disabled')
      }
    },
  }, roleField.el, inviteButton)

  await load()
  return { el: h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Users')), reveal, users, h('h2', null, 'Invite someone'), form, h('h2', null, 'Pending invitations'), invitations) }
}
