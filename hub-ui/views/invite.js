// Accept an invitation: the page a one-time link opens (`#/invite/<token>`); the person picks a
// username and password, joins the account with the invited role and is signed in.
import { api, clearSession, saveSession } from '../lib/api.js'
import { field, h } from '../lib/dom.js'

const MIN_PASSWORD = 12

/** @type {import('../app.js').ViewFactory} */
export default function invite({ params, navigate }) {
  const username = field({ label: 'Username', control: h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true, autocapitalize: 'none', spellcheck: 'false', maxlength: 64 }) })
  const password = field({ label: 'Password', control: h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true }), hint: `At least ${MIN_PASSWORD} characters.` })
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Join')
  const error = h('p', { class: 'error-box', role: 'alert', hidden: true })

  const form = h('form', {
    class: 'login-card',
    'aria-labelledby': 'invite-title',
    novalidate: true,
    onsubmit: async (/** @type {SubmitEvent} */ event) => {
      event.preventDefault()
      error.hidden = true
      const user = /** @type {HTMLInputElement} */ (username.control).value.trim()
      const pass = /** @type {HTMLInputElement} */ (password.control).value
      username.setError(user && !/\s/.test(user) ? null : 'Choose a username without spaces.')
      password.setError(pass.length >= MIN_PASSWORD ? null : `The password needs at least ${MIN_PASSWORD} characters.`)
      if (!user || /\s/.test(user) || pass.length < MIN_PASSWORD) return
      submit.setAttribute('disabled', '')
      try {
        const body = await api('POST', '/api/invitations/accept', { token: params.token, username: user, password: pass }, { anonymous: true })
        // Whoever was signed in on this browser is not the person who joins.
        clearSession()
        saveSession({ accessToken: body.accessToken, expiresAt: body.expiresAt, userName: body.userName, roles: body.roles, role: body.role }, false)
        navigate('#/')
      } catch (e) {
        error.textContent = /** @type {Error} */ (e).message
        error.hidden = false
      } finally {
        submit.removeAttribute('disabled')
      }
    },
  },
    h('div', { class: 'login-brand' }, h('img', { src: document.querySelector('link[rel=icon]')?.getAttribute('href') ?? '', alt: '', width: 40, height: 40 }), h('span', null, 'thresh hub')),
    h('h1', { id: 'invite-title' }, 'Join this hub'),
    h('p', null, 'You were invited to a thresh fleet. Choose how you will sign in.'),
    error,
    username.el,
    password.el,
    submit,
  )
  return { el: h('main', { id: 'main', class: 'login-page' }, form) }
}
