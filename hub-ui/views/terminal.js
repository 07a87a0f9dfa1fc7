// A shell in a container, in a dialog: xterm.js (served from npm under vendor/, loaded the first time
// a terminal opens) on an exec session of the hub. Keystrokes and pastes go to the session, the
// terminal's size follows the dialog, Copy takes the selection; closing the dialog ends the session.
import { api, enc } from '../lib/api.js'
import { h, openDialog, toast } from '../lib/dom.js'
import { readNdjson } from './streams.js'

/** @type {Promise<void> | undefined} */
let loading

/** Adds xterm's script, addon and stylesheet to the page once. */
function loadXterm() {
  const base = new URL('../vendor/', import.meta.url)
  const script = (/** @type {string} */ name) =>
    new Promise((resolve, reject) => {
      const el = document.createElement('script')
      el.src = new URL(name, base).href
      el.onload = resolve
      el.onerror = () => reject(new Error('The terminal could not be loaded from the hub.'))
      document.head.append(el)
    })
  loading ??= (async () => {
    document.head.append(h('link', { rel: 'stylesheet', href: new URL('xterm.css', base).href }))
    await script('xterm.js')
    await script('addon-fit.js')
  })()
  loading.catch(() => (loading = undefined))
  return loading
}

const toBase64 = (/** @type {string} */ text) => {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/**
 * Opens a terminal on `execPath` (`/api/stacks/x/services/y/exec` or a node's container).
 * @param {{ execPath: string, label: string }} spec
 */
export async function openTerminal({ execPath, label }) {
  await loadXterm()
  const w = /** @type {any} */ (window)
  const term = new w.Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000 })
  const fit = new w.FitAddon.FitAddon()
  term.loadAddon(fit)
  const screen = h('div', { class: 'terminal-screen', 'data-terminal': label })
  const state = h('span', { class: 'muted' }, 'Connecting…')
  const controller = new AbortController()
  /** @type {string | undefined} */
  let id
  const { dialog, close } = openDialog({
    title: `Terminal: ${label}`,
    body: h('div', { class: 'terminal-wrap' }, screen, state),
    actions: (closeIt) => [
      h('button', { type: 'button', onclick: () => (term.hasSelection() ? navigator.clipboard.writeText(term.getSelection()).then(() => toast('Copied to the clipboard.'), () => toast('Copying was not allowed here; press Ctrl+Shift+C.')) : toast('Select text in the terminal first.')) }, 'Copy'),
      h('button', { type: 'button', class: 'primary', onclick: closeIt }, 'Close'),
    ],
  })
  dialog.classList.add('terminal-dialog')
  term.open(screen)
  fit.fit()
  term.focus()
  const end = () => {
    controller.abort()
    resizer.disconnect()
    if (id) void api('DELETE', `/api/exec/${enc(id)}`).catch(() => {})
    id = undefined
    term.dispose()
  }
  dialog.addEventListener('close', end)
  const resizer = new ResizeObserver(() => fit.fit())
  resizer.observe(screen)
  // Input in order: one request at a time, what was typed meanwhile (or before the session opened) goes in the next.
  let queued = ''
  /** @type {Promise<void> | undefined} */
  let sending
  const flush = () =>
    (sending ??= (async () => {
      while (queued && id) {
        const data = queued
        queued = ''
        await api('POST', `/api/exec/${enc(id)}/input`, { data: toBase64(data) }).catch(() => {})
      }
    })().finally(() => (sending = undefined)))
  term.onData((/** @type {string} */ data) => {
    queued += data
    void flush()
  })
  try {
    id = /** @type {{ id: string }} */ (await api('POST', execPath, { tty: true, cols: term.cols, rows: term.rows })).id
  } catch (error) {
    state.textContent = /** @type {Error} */ (error).message
    return { close }
  }
  const path = `/api/exec/${enc(/** @type {string} */ (id))}`
  void flush()
  term.onResize((/** @type {{ cols: number, rows: number }} */ size) => void api('POST', `${path}/input`, { resize: size }).catch(() => {}))
  state.textContent = ''
  readNdjson(
    path,
    (record) => {
      if (typeof record.data === 'string') term.write(record.data)
      else if (typeof record.exit === 'number') state.textContent = `The shell exited with status ${record.exit}.`
      else if (record.end && record.error) state.textContent = `The session ended: ${record.error}`
    },
    controller.signal,
  ).catch((error) => (state.textContent = error.message))
  return { close }
}
