// Sign in: username and password to `POST /api/auth/login`; the token is kept for this tab (or
// remembered on this device when asked).
import { api, saveSession } from '../lib/api.js'
import { field, h } from '../lib/dom.js'

/** @param {any} body */
export function needsPasswordChange(body) {
  return Boolean(body && (body.mustChangePassword || body.passwordChangeRequired || body.requiresPasswordChange || body.oneTimePassword))
}

/** @type {import('../app.js').ViewFactory} */
export default function login({ navigate }) {
  const username = field({ label: 'Username', control: h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true, autocapitalize: 'none', spellcheck: 'false' }) })
  const password = field({
    label: 'Password',
    control: h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    hint: 'On a new hub, sign in as admin with the one-time password it printed at first start.',
  })
  const remember = h('input', { type: 'checkbox', id: 'remember', name: 'remember' })
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in')
  const error = h('p', { class: 'error-box', role: 'alert', hidden: true })

  const form = h(
    'form',
    {
      class: 'login-card',
      'aria-labelledby': 'login-title',
      novalidate: true,
      onsubmit: async (/** @type {SubmitEvent} */ event) => {
        event.preventDefault()
        error.hidden = true
        const user = /** @type {HTMLInputElement} */ (username.control).value.trim()
        const pass = /** @type {HTMLInputElement} */ (password.control).value
        username.setError(user ? null : 'Enter your username.')
        password.setError(pass ? null : 'Enter your password.')
        if (!user || !pass) return (user ? password : username).control.focus()
        submit.setAttribute('disabled', '')
        submit.textContent = 'Signing in…'
        try {
          const body = await api('POST', '/api/auth/login', { username: user, password: pass }, { anonymous: true })
          saveSession(
            { accessToken: body.accessToken, expiresAt: body.expiresAt, userName: body.userName ?? user, roles: body.roles, role: body.role, mustChangePassword: needsPasswordChange(body) },
            /** @type {HTMLInputElement} */ (remember).checked,
          )
          navigate('#/')
        } catch (e) {
          const err = /** @type {import('../lib/api.js').ApiError} */ (e)
          error.textContent = err.status === 401 ? 'That username and password do not match an account on this hub.' : err.message
          error.hidden = false
          ;/** @type {HTMLInputElement} */ (password.control).select()
        } finally {
          submit.removeAttribute('disabled')
          submit.textContent = 'Sign in'
        }
      },
    },
    h('div', { class: 'login-brand' }, h('img', { src: document.querySelector('link[rel=icon]')?.getAttribute('href') ?? '', alt: '', width: 40, height: 40 }), h('span', null, 'thresh hub')),
    h('h1', { id: 'login-title' }, 'Sign in'),
    error,
    username.el,
    password.el,
    h('div', { class: 'check' }, remember, h('label', { for: 'remember' }, 'Keep me signed in on this device')),
    submit,
  )
  return { el: h('main', { id: 'main', class: 'login-page' }, form) }
}
