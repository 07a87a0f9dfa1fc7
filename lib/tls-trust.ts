// How every thresh client (CLI, mid-tier, agent) decides to trust a server: with a pin (the fleet
// CA's fingerprint) it finds that CA in the chain the server presents and from then on verifies the
// chain to it and the host name, as any TLS client does; without one, the system's CAs (a publicly
// trusted hub needs no pin). Every failure is one sentence naming its cause and the one command that
// fixes it. The result is plain Node TLS options (`ca`, `rejectUnauthorized`) for https, ws,
// EventSource and the fetch in tls-fetch.ts. Node only: see `establishTrust` for Deno.
import { X509Certificate } from 'node:crypto'
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls'
import { isIP } from 'node:net'
import { ThreshError } from '../core/index.ts'
import { fingerprintOf, normalizeFingerprint } from './tls.ts'

/** What a client was told to trust. */
export interface TrustSettings {
  /** false only with `tls-verify false` / `--insecure`: no checks at all. */
  verify: boolean
  /** The fleet CA's fingerprint, `sha256:…`. */
  fingerprint?: string
}

/** Options for node:https, ws and EventSource's `https`. */
export interface TlsClientOptions {
  rejectUnauthorized: boolean
  /** The pinned CA (PEM): the only CA trusted for this server. */
  ca?: string
}

/** How this client fixes what went wrong, as commands the user can paste. */
export interface TrustFixes {
  /** What the server is called in sentences: "the hub", "the mid-tier". */
  server: string
  /** The command that pins `fingerprint` for this client. */
  pin(fingerprint: string): string
  /** The command that makes the server's certificate name `host` (default: restart it with --advertise). */
  advertise?(host: string): string
  /** The command that renews the server's certificate (default: restart it). */
  renew?: string
}

export type TlsFailure = 'self-signed' | 'unknown-ca' | 'wrong-fingerprint' | 'host-mismatch' | 'expired' | 'not-yet-valid' | 'handshake'

export class TlsTrustError extends ThreshError {
  readonly failure: TlsFailure
  constructor(failure: TlsFailure, message: string, cause?: unknown) {
    super({ code: 'tls_untrusted', message: message.charAt(0).toUpperCase() + message.slice(1), cause })
    this.failure = failure
  }
}

export const isTlsTrustError = (error: unknown): error is TlsTrustError => error instanceof TlsTrustError

interface Endpoint {
  host: string
  port: number
  servername: string | undefined
}

function endpointOf(url: URL): Endpoint {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return { host, port: Number(url.port || 443), servername: isIP(host) ? undefined : host }
}

interface Presented {
  /** The presented chain, leaf first, as PEM. */
  chain: string[]
  /** The chain's last certificate's fingerprint (the CA the server claims, or the leaf if alone). */
  topFingerprint: string
  leaf: X509Certificate
  selfSigned: boolean
}

const toPem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`

function handshake(endpoint: Endpoint, options: TlsClientOptions, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, servername: endpoint.servername, ...options, ALPNProtocols: ['http/1.1'] })
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no TLS answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })), timeoutMs)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      resolve(socket)
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/** The chain the server presents, read without judging it. */
async function peek(endpoint: Endpoint, timeoutMs: number): Promise<Presented> {
  const socket = await handshake(endpoint, { rejectUnauthorized: false }, timeoutMs)
  try {
    const chain: string[] = []
    const seen = new Set<string>()
    let cert: PeerCertificate | undefined = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate }
    while (cert?.raw && !seen.has(cert.fingerprint256)) {
      seen.add(cert.fingerprint256)
      chain.push(toPem(cert.raw))
      cert = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate
    }
    if (chain.length === 0) throw new Error('the server presented no certificate')
    const leaf = new X509Certificate(chain[0]!)
    return { chain, topFingerprint: fingerprintOf(chain.at(-1)!), leaf, selfSigned: chain.length === 1 && leaf.checkIssued(leaf) }
  } finally {
    socket.destroy()
  }
}

/** Where a pinned CA found in a server's chain is kept, so later connections need one handshake only. */
const pinnedCas = new Map<string, string>()

/**
 * The TLS options to reach `url` with: checks the server now (one or two handshakes) and throws a
 * TlsTrustError naming the cause and the fix when it cannot be trusted. Plain http needs nothing.
 * On Deno, node:tls cannot read an unverified chain, so a pin there needs the CA in DENO_CERT.
 */
export async function establishTrust(rawUrl: string, settings: TrustSettings, fixes: TrustFixes, timeoutMs = 10_000): Promise<TlsClientOptions> {
  const url = new URL(rawUrl)
  if (url.protocol !== 'https:' && url.protocol !== 'wss:') return { rejectUnauthorized: true }
  if (!settings.verify) return { rejectUnauthorized: false }
  const endpoint = endpointOf(url)
  const pin = settings.fingerprint ? normalizeFingerprint(settings.fingerprint) : undefined
  if (settings.fingerprint && !pin) {
    throw new TlsTrustError('wrong-fingerprint', `'${settings.fingerprint}' is not a fingerprint: it is sha256: followed by 64 hex digits, as ${fixes.server} prints it at start.`)
  }
  const origin = `${endpoint.host}:${endpoint.port}|${pin ?? ''}`
  let options: TlsClientOptions = { rejectUnauthorized: true, ...(pin && pinnedCas.has(origin) ? { ca: pinnedCas.get(origin) } : {}) }
  if (pin && !options.ca) {
    const presented = await peek(endpoint, timeoutMs)
    const ca = presented.chain.find((pem) => fingerprintOf(pem) === pin)
    if (!ca) {
      throw new TlsTrustError(
        'wrong-fingerprint',
        `Wrong fingerprint: ${fixes.server} at ${url.origin} presents a certificate from CA ${presented.topFingerprint}, but this client is pinned to ${pin}. ` +
          `If ${fixes.server} printed ${presented.topFingerprint} at its start (its CA was replaced), pin that: ${fixes.pin(presented.topFingerprint)}; otherwise this is not your ${fixes.server.replace(/^the /, '')}.`,
      )
    }
    options = { rejectUnauthorized: true, ca }
    pinnedCas.set(origin, ca)
  }
  try {
    ;(await handshake(endpoint, options, timeoutMs)).destroy()
  } catch (error) {
    if (options.ca) pinnedCas.delete(origin)
    throw await explainHandshake(error, url, endpoint, pin, fixes, timeoutMs)
  }
  return options
}

/** Turns a failed handshake into the cause and the fix; errors that are not about certificates pass through. */
async function explainHandshake(error: unknown, url: URL, endpoint: Endpoint, pin: string | undefined, fixes: TrustFixes, timeoutMs: number): Promise<unknown> {
  const failure = failureOf(error)
  if (!failure) return error
  let presented: Presented | undefined
  try {
    presented = await peek(endpoint, timeoutMs)
  } catch {
    presented = undefined
  }
  return tlsFailure(failure, url, pin, fixes, presented, error)
}

const CODES: Record<string, TlsFailure> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-ca',
  CERT_SIGNATURE_FAILURE: 'unknown-ca',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'host-mismatch',
}

/** Which certificate problem an error is, by its code or (through wrappers that drop it) its words. */
export function failureOf(error: unknown): TlsFailure | undefined {
  let current = error as { code?: string; message?: string; cause?: unknown } | undefined
  for (let depth = 0; current && depth < 4; depth++, current = current.cause as typeof current) {
    if (current instanceof TlsTrustError) return current.failure
    if (current.code && CODES[current.code]) return CODES[current.code]
    const text = String(current.message ?? '')
    if (/self[- ]signed certificate in certificate chain|unable to (get local issuer|verify the first) certificate/i.test(text)) return 'unknown-ca'
    if (/self[- ]signed certificate/i.test(text)) return 'self-signed'
    if (/certificate has expired/i.test(text)) return 'expired'
    if (/certificate is not yet valid/i.test(text)) return 'not-yet-valid'
    if (/does not match certificate's altnames|Hostname\/IP does not match/i.test(text)) return 'host-mismatch'
  }
  return undefined
}

function tlsFailure(failure: TlsFailure, url: URL, pin: string | undefined, fixes: TrustFixes, presented: Presented | undefined, cause: unknown): TlsTrustError {
  const who = `${fixes.server} at ${url.origin}`
  const top = presented?.topFingerprint
  const checkThen = (fp: string) => `if ${fp} is the fingerprint ${fixes.server} printed at start, pin it: ${fixes.pin(fp)}`
  switch (failure) {
    case 'self-signed':
      return new TlsTrustError(failure, `${who} presents a self-signed certificate (${top ?? 'fingerprint unknown'}) that this machine does not trust; ${top ? checkThen(top) : `pin its CA: ${fixes.pin('sha256:…')}`}.`, cause)
    case 'unknown-ca':
      if (pin) {
        return new TlsTrustError(failure, `${who} presents a certificate that does not chain to the pinned CA ${pin} (its chain ends at ${top ?? 'an unknown CA'}); ${top ? checkThen(top) : 'check the pin'}.`, cause)
      }
      return new TlsTrustError(failure, `${who} presents a certificate from an unknown CA (${top ?? 'fingerprint unknown'}); ${top ? checkThen(top) : `pin its CA: ${fixes.pin('sha256:…')}`}.`, cause)
    case 'host-mismatch': {
      const names = presented ? presented.leaf.subjectAltName?.replace(/DNS:|IP Address:/g, '') : undefined
      const host = url.hostname.replace(/^\[|\]$/g, '')
      const fix = fixes.advertise?.(host) ?? `restart ${fixes.server} with --advertise ${host}`
      return new TlsTrustError(failure, `Host name mismatch: the certificate of ${who} is for ${names ?? 'other names'}, not ${host}; use one of those names, or ${fix}.`, cause)
    }
    case 'expired':
    case 'not-yet-valid': {
      const when = presented ? (failure === 'expired' ? `expired on ${new Date(presented.leaf.validTo).toISOString()}` : `is not valid before ${new Date(presented.leaf.validFrom).toISOString()}`) : failure === 'expired' ? 'has expired' : 'is not yet valid'
      const fix = failure === 'expired' ? (fixes.renew ?? `restart ${fixes.server}: it renews its certificate at start`) : "check this machine's clock (timedatectl)"
      return new TlsTrustError(failure, `The certificate of ${who} ${when}; ${fix}.`, cause)
    }
    default:
      return new TlsTrustError(failure, `The TLS handshake with ${who} failed: ${(cause as Error)?.message ?? cause}.`, cause)
  }
}

/**
 * The sentence for a TLS failure met outside `establishTrust` (a transport's own connection), or
 * undefined when `error` is not about certificates.
 */
export function describeTlsError(error: unknown, rawUrl: string, pin: string | undefined, fixes: TrustFixes): string | undefined {
  if (error instanceof TlsTrustError) return error.message
  const failure = failureOf(error)
  if (!failure) return undefined
  return tlsFailure(failure, new URL(rawUrl), pin, fixes, undefined, error).message
}

/** The pinned fingerprint a TLS-failure message wants pinned, to offer it (e.g. `thresh auth login` on a terminal). */
export async function presentedFingerprint(rawUrl: string, timeoutMs = 10_000): Promise<{ fingerprint: string; selfSigned: boolean }> {
  const presented = await peek(endpointOf(new URL(rawUrl)), timeoutMs)
  return { fingerprint: presented.topFingerprint, selfSigned: presented.selfSigned }
}
