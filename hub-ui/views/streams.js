// Reading the hub's NDJSON streams (logs, exec output) from the browser, and ANSI colours as spans.
// Loaded with the log and terminal views only, never on the first page.
import { session } from '../lib/api.js'

/**
 * Reads `path` line by line until it ends or `signal` aborts; throws the hub's sentence on an error status.
 * @param {string} path @param {(record: any) => void} onRecord @param {AbortSignal} signal
 */
export async function readNdjson(path, onRecord, signal) {
  const current = session()
  const response = await fetch(path, { headers: current ? { authorization: `Bearer ${current.accessToken}` } : {}, signal })
  if (!response.ok) {
    const body = await response.json().catch(() => ({}))
    throw new Error(body.message || `The hub answered ${response.status}.`)
  }
  const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).pipeThrough(new TextDecoderStream()).getReader()
  let partial = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      const lines = (partial + value).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) if (line) onRecord(JSON.parse(line))
    }
  } catch (error) {
    if (/** @type {Error} */ (error).name !== 'AbortError') throw error
  }
}

const COLOURS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white']

/**
 * A line with ANSI SGR colours as spans (`ansi-red`, `ansi-bright-green`, `ansi-bold`); other escapes are dropped.
 * @param {string} line @returns {Node[]}
 */
export function ansiSpans(line) {
  /** @type {Node[]} */
  const out = []
  /** @type {string[]} */
  let classes = []
  const push = (/** @type {string} */ text) => {
    if (!text) return
    if (classes.length === 0) out.push(document.createTextNode(text))
    else {
      const span = document.createElement('span')
      span.className = classes.join(' ')
      span.textContent = text
      out.push(span)
    }
  }
  const re = /\u001b\[([0-9;]*)([A-Za-z])/g
  let last = 0
  for (let m = re.exec(line); m; m = re.exec(line)) {
    push(line.slice(last, m.index))
    last = re.lastIndex
    if (m[2] !== 'm') continue
    for (const code of (m[1] || '0').split(';').map(Number)) {
      if (code === 0) classes = []
      else if (code === 1) classes.push('ansi-bold')
      else if (code >= 30 && code <= 37) classes = [...classes.filter((c) => !c.startsWith('ansi-fg')), `ansi-fg ansi-${COLOURS[code - 30]}`]
      else if (code >= 90 && code <= 97) classes = [...classes.filter((c) => !c.startsWith('ansi-fg')), `ansi-fg ansi-bright-${COLOURS[code - 90]}`]
      else if (code === 39) classes = classes.filter((c) => !c.startsWith('ansi-fg'))
    }
  }
  push(line.slice(last))
  return out
}
