// The hub's public REST API (CONTRACT §3) as the dashboard uses it: the session token, JSON calls,
// and `{error, message}` bodies turned into errors whose message a person can read.

const TOKEN_KEY = 'thresh.session'

/** @typedef {{ accessToken: string, expiresAt?: string, userName?: string, roles?: string[], role?: string, mustChangePassword?: boolean }} Session */

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {unknown} [body] */
  constructor(status, code, message, body) {
    super(message)
    this.status = status
    this.code = code
    this.body = body
  }
}

/** @returns {Session | null} */
export function session() {
  try {
    const raw = sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY)
    if (!raw) return null
    const value = JSON.parse(raw)
    if (value.expiresAt && Date.parse(value.expiresAt) < Date.now()) {
      clearSession()
      return null
    }
    return value
  } catch {
    return null
  }
}

/** @param {Session} value @param {boolean} remember */
export function saveSession(value, remember) {
  clearSession()
  ;(remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, JSON.stringify(value))
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY)
  localStorage.removeItem(TOKEN_KEY)
}

/** Called when the hub says the session is gone (401). @type {() => void} */
let onUnauthorized = () => {}
/** @param {() => void} fn */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn
}

/**
 * Calls the hub. Bodies are JSON; errors throw ApiError with the hub's sentence.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ signal?: AbortSignal, anonymous?: boolean, keepSession?: boolean }} [options]
 */
export async function api(method, path, body, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  const current = session()
  if (current && !options.anonymous) headers.authorization = `Bearer ${current.accessToken}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: options.signal })
  } catch (error) {
    if (/** @type {Error} */ (error).name === 'AbortError') throw error
    throw new ApiError(0, 'unreachable', 'The hub cannot be reached. Check that it is running and that this computer can reach it.')
  }
  const text = await response.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = text
  }
  if (!response.ok) {
    const code = (data && typeof data === 'object' && data.error) || `http_${response.status}`
    const message =
      (data && typeof data === 'object' && (data.message || data.error)) ||
      (response.status === 404 ? `The hub has no ${path.replace(/\?.*$/, '')}.` : `The hub answered ${response.status} ${response.statusText}.`)
    if (response.status === 401 && !options.anonymous && !options.keepSession) onUnauthorized()
    throw new ApiError(response.status, String(code), String(message), data)
  }
  return data
}

/**
 * Lists come back bare or wrapped (`{nodes: [...]}`, `{items: [...]}`): accept both.
 * @param {unknown} data @param {...string} keys @returns {any[]}
 */
export function asList(data, ...keys) {
  if (Array.isArray(data)) return data
  if (data && typeof data === 'object') {
    const record = /** @type {Record<string, unknown>} */ (data)
    for (const key of [...keys, 'items', 'data', 'results']) if (Array.isArray(record[key])) return /** @type {any[]} */ (record[key])
  }
  return []
}

export const enc = encodeURIComponent
