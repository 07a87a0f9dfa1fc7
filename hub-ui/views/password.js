// Changing the signed-in user's password (the first admin's one-time password above all).
import { api, saveSession, session } from '../lib/api.js'
import { field, h, openDialog, toast } from '../lib/dom.js'

/** Opens the dialog; `done` runs once the hub accepted the new password. @param {() => void} done */
export default function changePassword(done) {
  const current = field({ label: 'Current password', control: h('input', { type: 'password', autocomplete: 'current-password' }) })
  const next = field({ label: 'New password', control: h('input', { type: 'password', autocomplete: 'new-password', minlength: 12 }), hint: 'At least 12 characters.' })
  const again = field({ label: 'New password again', control: h('input', { type: 'password', autocomplete: 'new-password' }) })
  const value = (/** @type {{ control: HTMLElement }} */ f) => /** @type {HTMLInputElement} */ (f.control).value
  const { close } = openDialog({
    title: 'Change your password',
    body: h('form', {
      id: 'password-form',
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault()
        current.setError(value(current) ? null : 'Enter your current password.')
        next.setError(value(next).length >= 12 ? null : 'Use at least 12 characters.')
        again.setError(value(again) === value(next) ? null : 'The two new passwords differ.')
        if (!value(current) || value(next).length < 12 || value(again) !== value(next)) return
        try {
          await api('POST', '/api/auth/password', { currentPassword: value(current), newPassword: value(next) }, { keepSession: true })
          const s = session()
          if (s) saveSession({ ...s, mustChangePassword: false }, Boolean(localStorage.getItem('thresh.session')))
          close()
          toast('Password changed.')
          done()
        } catch (err) {
          const error = /** @type {import('../lib/api.js').ApiError} */ (err)
          if (error.status === 404) next.setError('This hub cannot change passwords from the dashboard; set THRESH_ADMIN_PASSWORD and restart it, or ask its operator.')
          else if (error.code === 'wrong_password' || error.status === 401 || error.status === 403 || error.status === 429) current.setError(error.message)
          else next.setError(error.message)
        }
      },
    }, current.el, next.el, again.el),
    actions: (closeIt) => [h('button', { type: 'button', onclick: closeIt }, 'Later'), h('button', { type: 'submit', class: 'primary', form: 'password-form' }, 'Change password')],
  })
  current.control.focus()
}
