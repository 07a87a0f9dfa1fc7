// Hand-written DOM helpers: `h()` builds elements, `text()` updates a node only when its text changes.
// Plain DOM keeps the dashboard small and lets live updates touch only the cells that changed.

/**
 * @typedef {Record<string, unknown>} Attrs
 * @typedef {any} Child
 */

/**
 * Creates an element. `on*` attributes become listeners, `class`/`for`/`html`-free, booleans toggle.
 * @example h('button', { type: 'button', onclick: save }, 'Save')
 * @param {string} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue
      if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
      else if (key === 'dataset') Object.assign(el.dataset, value)
      else if (key === 'value' && 'value' in el) /** @type {HTMLInputElement} */ (el).value = String(value)
      else el.setAttribute(key, value === true ? '' : String(value))
    }
  }
  append(el, children)
  return el
}

/** @param {Node} parent @param {Child[]} children */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }
}

/** Replaces an element's children. @param {Element} el @param {...Child} children */
export function replace(el, ...children) {
  el.textContent = ''
  append(el, children)
  return el
}

/** Sets text only when it differs, so unchanged cells cost nothing. @param {Element} el @param {string} value */
export function text(el, value) {
  if (el.textContent !== value) el.textContent = value
}

/** Sets or clears an attribute only when it differs. @param {Element} el @param {string} name @param {string | null} value */
export function attr(el, name, value) {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name)
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value)
}

let idCounter = 0
/** A page-unique id for label/aria wiring. @param {string} prefix */
export function uid(prefix) {
  return `${prefix}-${++idCounter}`
}

/**
 * A labelled form field: label, control, hint and an error slot wired with aria-describedby.
 * @param {{ label: string, control: HTMLElement, hint?: string }} spec
 */
export function field({ label, control, hint }) {
  const id = control.id || uid('f')
  control.id = id
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null
  const errorEl = h('div', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true })
  control.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '))
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errorEl)
  return {
    el: wrap,
    control,
    /** @param {string | string[] | null} message */
    setError(message) {
      const list = message === null ? [] : Array.isArray(message) ? message : [message]
      replace(errorEl, list.length > 1 ? h('ul', null, list.map((m) => h('li', null, m))) : list[0] ?? '')
      errorEl.hidden = list.length === 0
      attr(control, 'aria-invalid', list.length ? 'true' : null)
    },
  }
}

/** Shows a transient message in the page's live region. @param {string} message @param {'ok'|'error'} [kind] */
export function toast(message, kind = 'ok') {
  let region = document.getElementById('toasts')
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' })
    document.body.append(region)
  }
  const item = h('div', { class: `toast ${kind}` }, message)
  region.append(item)
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000)
}

/**
 * A modal dialog built on <dialog>: focus is trapped by the browser and Escape closes it.
 * @param {{ title: string, body: Child, actions: (close: () => void) => Child }} spec
 */
export function openDialog({ title, body, actions }) {
  const titleId = uid('dlg')
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { class: 'dialog', 'aria-labelledby': titleId }))
  const close = () => {
    dialog.close()
    dialog.remove()
  }
  append(dialog, [h('h2', { id: titleId }, title), h('div', { class: 'dialog-body' }, body), h('div', { class: 'actions' }, actions(close))])
  dialog.addEventListener('close', () => dialog.remove())
  document.body.append(dialog)
  dialog.showModal()
  return { dialog, close }
}

/** Copies text; falls back to selecting it where the Clipboard API is not allowed (plain HTTP). @param {string} value @param {HTMLElement} source */
export async function copy(value, source) {
  try {
    await navigator.clipboard.writeText(value)
    toast('Copied to the clipboard.')
  } catch {
    const range = document.createRange()
    range.selectNodeContents(source)
    const selection = getSelection()
    selection?.removeAllRanges()
    selection?.addRange(range)
    const ok = document.execCommand?.('copy')
    toast(ok ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.')
  }
}
