// One small HTTP client for the hub's REST API, shared by every remote command: which hub, which
// token, TLS checks, and hub errors turned into one sentence.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import process from 'node:process'
import { ThreshError } from '../core/index.ts'
import { version } from '../core/version.ts'
import { normalizeFingerprint } from '../lib/tls.ts'
import { describeTlsError, establishTrust, isTlsTrustError, type TlsClientOptions, type TrustFixes } from '../lib/tls-trust.ts'
import { readCredentials, readPin, type Credentials } from './credentials.ts'

/** The flags every remote command takes. */
export const hubArgs = {
  hub: { type: 'string', description: 'hub URL (default: the logged-in hub, else THRESH_HUB_URL)' },
  fingerprint: { type: 'string', description: "the hub's fleet CA fingerprint (sha256:…, printed by the hub at start); stored by auth login" },
  insecure: { type: 'boolean', description: 'do not verify the hub TLS certificate at all (an escape hatch: pin with --fingerprint instead)' },
} as const

export const jsonArg = { json: { type: 'boolean', description: 'print JSON' } } as const

export interface HubFlags {
  hub?: string
  fingerprint?: string
  insecure?: boolean
}

export interface HubTarget {
  url: string
  token: string | undefined
  tokenSource: 'THRESH_CLI_TOKEN' | 'stored' | undefined
  tlsVerify: boolean
  /** The pinned fleet CA: --fingerprint, else the one stored for this hub, else THRESH_HUB_FINGERPRINT. */
  fingerprint: string | undefined
  credentials: Credentials | undefined
  /** The TLS options once the hub's certificate was checked (once per process). */
  tls?: TlsClientOptions
}

/** The commands that fix a TLS failure, for the CLI. */
export function cliFixes(url: string): TrustFixes {
  return {
    server: 'the hub',
    pin: (fingerprint) => `thresh auth login --hub ${url} --fingerprint ${fingerprint}`,
    advertise: (host) => `restart the hub with --advertise ${host}`,
    renew: 'restart the hub: it renews its certificate at start',
  }
}

/** A --fingerprint value, normalized, or a sentence saying what one looks like. */
export function fingerprintArg(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined
  const fingerprint = normalizeFingerprint(raw)
  if (!fingerprint) {
    throw new ThreshError({ code: 'fingerprint_invalid', message: `'${raw}' is not a fingerprint: give sha256: followed by 64 hex digits, as the hub prints it at start.` })
  }
  return fingerprint
}

/** `hub.example:7200` -> `https://hub.example:7200`; trailing slashes dropped; anything else refused. */
export function normalizeHubUrl(raw: string): string {
  const text = raw.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new ThreshError({ code: 'hub_url_invalid', message: `'${raw}' is not a hub URL; give one such as https://hub.example:7200.` })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ThreshError({ code: 'hub_url_invalid', message: `'${raw}' is not a hub URL; it must start with http:// or https://.` })
  }
  return url.href.replace(/\/+$/, '')
}

/** True for the words that switch certificate checks off: false, 0, no, off. */
function isFalse(value: string | undefined): boolean {
  return value !== undefined && /^(false|0|no|off)$/i.test(value.trim())
}

/**
 * Which hub to talk to and with what: `--hub` > the logged-in hub > `THRESH_HUB_URL`; the token from
 * `THRESH_CLI_TOKEN` > the stored login. A stored token is only ever sent to the hub it was issued by.
 */
export function resolveHub(flags: HubFlags, options: { required?: boolean } = {}): HubTarget | undefined {
  const credentials = readCredentials()
  const raw = flags.hub ?? credentials?.hubUrl ?? (process.env.THRESH_HUB_URL || undefined)
  if (raw === undefined) {
    if (options.required === false) return undefined
    throw new ThreshError({
      code: 'hub_required',
      message: 'No hub given: pass --hub URL, log in with thresh auth login --hub URL, or set THRESH_HUB_URL.',
    })
  }
  const url = normalizeHubUrl(raw)
  const stored = credentials && normalizeHubUrl(credentials.hubUrl) === url ? credentials : undefined
  const envToken = process.env.THRESH_CLI_TOKEN || undefined
  const token = envToken ?? stored?.token
  const tlsVerify = !(flags.insecure === true || stored?.tlsVerify === false || isFalse(process.env.THRESH_TLS_VERIFY))
  const fingerprint = fingerprintArg(flags.fingerprint) ?? readPin(url) ?? fingerprintArg(process.env.THRESH_HUB_FINGERPRINT || undefined)
  return { url, token, tokenSource: envToken ? 'THRESH_CLI_TOKEN' : stored ? 'stored' : undefined, tlsVerify, fingerprint, credentials: stored }
}

/** Checks the hub's certificate (pinned CA, host name, dates) once per process; throws the cause and the fix. */
export async function trustHub(target: HubTarget): Promise<TlsClientOptions> {
  target.tls ??= await establishTrust(target.url, { verify: target.tlsVerify, ...(target.fingerprint ? { fingerprint: target.fingerprint } : {}) }, cliFixes(target.url))
  return target.tls
}

export interface RequestOptions {
  /** Send the token (default true); login is the only call without one. */
  auth?: boolean
  timeoutMs?: number
  query?: Record<string, string | undefined>
}

export interface HubClient {
  readonly target: HubTarget
  readonly url: string
  request<T = unknown>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T>
  get<T = unknown>(path: string, options?: RequestOptions): Promise<T>
  post<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>
  patch<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<T>
  delete<T = unknown>(path: string, options?: RequestOptions): Promise<T>
}

/** A client for the resolved hub; refuses early, with what to do, when a token is needed and there is none. */
export function createHubClient(flags: HubFlags, options: { auth?: boolean; target?: HubTarget } = {}): HubClient {
  const target = options.target ?? resolveHub(flags)!
  if (options.auth !== false && !target.token) {
    throw new ThreshError({
      code: 'not_logged_in',
      message: `Not logged in to ${target.url}: run thresh auth login --hub ${target.url} (or set THRESH_CLI_TOKEN).`,
    })
  }
  const request = <T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}) =>
    hubRequest(target, method, path, body, { auth: options.auth, ...opts }) as Promise<T>
  return {
    target,
    url: target.url,
    request,
    get: (path, opts) => request('GET', path, undefined, opts),
    post: (path, body, opts) => request('POST', path, body ?? {}, opts),
    patch: (path, body, opts) => request('PATCH', path, body ?? {}, opts),
    delete: (path, opts) => request('DELETE', path, undefined, opts),
  }
}

/** A path segment from user input, so names like `web/1` or `a b` cannot walk to another route. */
export const seg = (value: string): string => encodeURIComponent(value)

export async function hubRequest(target: HubTarget, method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
  const url = new URL(target.url + path)
  for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, value)
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': `thresh-cli/${version}` }
  if (options.auth !== false && target.token) headers.authorization = `Bearer ${target.token}`
  const payload = body === undefined ? undefined : JSON.stringify(body)
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload))
  }
  const timeoutMs = options.timeoutMs ?? 30_000

  let response: { status: number; statusText: string; contentType: string; text: string }
  try {
    response = await send(url, method, headers, payload, await trustHub(target), timeoutMs)
  } catch (cause) {
    if (isTlsTrustError(cause)) throw cause
    throw networkError(target, cause, timeoutMs)
  }

  let data: unknown
  if (response.text) {
    try {
      data = JSON.parse(response.text)
    } catch {
      data = undefined
    }
  }
  if (response.status >= 200 && response.status < 300) return data
  throw hubError(target, method, url.pathname, response.status, response.statusText, data, options.auth !== false)
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: string | undefined,
  tls: TlsClientOptions,
  timeoutMs: number,
): Promise<{ status: number; statusText: string; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:'
    const requestFn = https ? httpsRequest : httpRequest
    const req = requestFn(url, { method, headers, ...(https ? tls : {}) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        clearTimeout(timer)
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          contentType: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        })
      })
      res.on('error', reject)
    })
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs)
    req.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    req.end(payload)
  })
}

export function networkError(target: HubTarget, cause: unknown, timeoutMs: number): ThreshError {
  const error = cause as NodeJS.ErrnoException
  const code = error?.code ?? ''
  const reason = error?.message ?? String(cause)
  const tls = describeTlsError(cause, target.url, target.fingerprint, cliFixes(target.url))
  if (tls) return new ThreshError({ code: 'tls_untrusted', message: tls, cause })
  const why =
    code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'ENOTFOUND' ? 'host not found'
    : code === 'ETIMEDOUT' ? `no answer within ${Math.round(timeoutMs / 1000)} s`
    : code === 'ECONNRESET' ? 'connection reset'
    : /wrong version number|packet length too long|EPROTO/i.test(reason + code) ? 'it does not speak HTTPS here; try http://'
    : reason
  return new ThreshError({ code: 'hub_unreachable', message: `Cannot reach the hub at ${target.url}: ${why}.`, cause })
}

export function hubError(target: HubTarget, method: string, path: string, status: number, statusText: string, data: unknown, sentToken: boolean): ThreshError {
  const body = (data && typeof data === 'object' ? data : {}) as { error?: unknown; message?: unknown; details?: unknown }
  const code = typeof body.error === 'string' ? body.error : `http_${status}`
  let message = typeof body.message === 'string' && body.message ? body.message : `The hub answered ${method} ${path} with ${status} ${statusText}.`.replace(' .', '.')
  // A login's own 401 is a wrong password, not a stale login: keep the hub's sentence for it.
  if (status === 401 && sentToken) {
    const fix = target.tokenSource === 'THRESH_CLI_TOKEN' ? 'check THRESH_CLI_TOKEN' : `run thresh auth login --hub ${target.url}`
    message = `The hub at ${target.url} did not accept the credentials (${message.replace(/\.$/, '')}); ${fix}.`
  }
  if (Array.isArray(body.details) && body.details.length > 0) {
    message += body.details.map((d) => `\n  - ${typeof d === 'string' ? d : JSON.stringify(d)}`).join('')
  }
  // The body rides along as details (a failed stack command carries the stack, with each service's error).
  return new ThreshError({ code, status, message, details: data })
}

/** A list from a hub answer, whether it is the bare array or wrapped as `{nodes: [...]}`. */
export function listOf<T = Record<string, unknown>>(data: unknown, key: string): T[] {
  if (Array.isArray(data)) return data as T[]
  if (data && typeof data === 'object') {
    const inner = (data as Record<string, unknown>)[key] ?? (data as Record<string, unknown>).items
    if (Array.isArray(inner)) return inner as T[]
  }
  return []
}

/**
 * The one item an argument names: an exact id, an exact name (any of `names`, case-insensitive),
 * else a unique prefix of either. Ambiguous and unknown arguments are refused with what matched.
 */
export function pickOne<T extends Record<string, unknown>>(items: T[], arg: string, kind: string, names: (item: T) => unknown[]): T {
  const idOf = (item: T) => String(item.id ?? '')
  const lower = arg.toLowerCase()
  const label = (item: T) => `${names(item).find((n) => typeof n === 'string' && n) ?? '?'} (${idOf(item).slice(0, 8)})`
  const exact = items.filter((item) => idOf(item) === arg)
  if (exact.length === 1) return exact[0]!
  const named = items.filter((item) => names(item).some((n) => typeof n === 'string' && n.toLowerCase() === lower))
  if (named.length === 1) return named[0]!
  const prefixed =
    named.length > 1
      ? named
      : items.filter((item) => idOf(item).toLowerCase().startsWith(lower) || names(item).some((n) => typeof n === 'string' && n.toLowerCase().startsWith(lower)))
  if (prefixed.length === 1) return prefixed[0]!
  if (prefixed.length > 1) {
    throw new ThreshError({
      code: `${kind}_ambiguous`,
      status: 409,
      message: `'${arg}' matches ${prefixed.length} ${kind}s (${prefixed.slice(0, 5).map(label).join(', ')}); give more of the name or id.`,
    })
  }
  throw new ThreshError({ code: `${kind}_not_found`, status: 404, message: `No ${kind} named '${arg}' or with an id starting with it.` })
}
