// TLS material for a role. The hub keeps a fleet CA in `$THRESH_HOME/tls` (made on first start) and
// serves a certificate signed by it; clients pin the CA by its fingerprint (`sha256:` + hex of SHA-256
// over the CA's DER bytes, as `sed '/-----/d' ca.pem | base64 -d | sha256sum` prints it). Mid-tiers
// get their certificates from the hub, signed by the same CA. A user's own `tls: {cert, key}` wins.
import { createHash, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname, networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { isIP } from 'node:net'
import { ThreshError, type TlsConfig } from '../core/index.ts'

export interface TlsMaterial {
  /** The serving certificate followed by its CA (the chain a client needs to find the pinned CA). */
  cert: string
  key: string
  /** The fleet CA's fingerprint, when the certificate is signed by one thresh made. */
  fingerprint?: string
  /** When the serving certificate expires. */
  notAfter?: Date
}

export interface FleetCa {
  cert: string
  key: string
  fingerprint: string
}

const DAY = 86_400_000
/** How long a serving certificate is valid, and how long before its end it is renewed. */
export const SERVING_DAYS = 397
export const RENEW_BEFORE_DAYS = 30

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The certificates in a PEM text, in order. */
export function pemCertificates(pem: string): string[] {
  return pem.match(PEM_BLOCK) ?? []
}

/** `sha256:<hex>` over a certificate's DER bytes (the first certificate of a PEM text). */
export function fingerprintOf(pemOrDer: string | Uint8Array): string {
  const der = typeof pemOrDer === 'string' ? new X509Certificate(pemCertificates(pemOrDer)[0] ?? pemOrDer).raw : pemOrDer
  return `sha256:${createHash('sha256').update(der).digest('hex')}`
}

/** `sha256:` + 64 lowercase hex digits; accepts upper case and colons (as openssl prints it) and normalizes. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.trim().replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase()
  return /^[0-9a-f]{64}$/.test(hex) ? `sha256:${hex}` : undefined
}

export const fingerprintField = {
  type: 'string',
  pattern: /^sha256:(?:[0-9a-fA-F]{64}|(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2})$/,
  expected: 'sha256: followed by 64 hex digits, as the hub prints it at start',
} as const

const tlsDir = (dataDir: string) => join(dataDir, 'tls')

async function generate(cn: string, options: Record<string, unknown>): Promise<{ cert: string; key: string }> {
  const { generate } = await import('selfsigned')
  const pems = await generate([{ name: 'commonName', value: cn }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', ...options } as never)
  return { cert: pems.cert.trim() + '\n', key: pems.private }
}

/** The fleet CA in `$THRESH_HOME/tls/ca.pem` (+ `ca-key.pem`, owner-only), made on first call. */
export async function ensureFleetCa(dataDir: string): Promise<FleetCa> {
  const dir = tlsDir(dataDir)
  const certPath = join(dir, 'ca.pem')
  const keyPath = join(dir, 'ca-key.pem')
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8')
    return { cert, key: readFileSync(keyPath, 'utf8'), fingerprint: fingerprintOf(cert) }
  }
  const now = Date.now()
  const ca = await generate(`thresh fleet CA ${hostname()}`.slice(0, 64), {
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + 20 * 365 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(keyPath, ca.key, { mode: 0o600 })
  writeFileSync(certPath, ca.cert)
  return { ...ca, fingerprint: fingerprintOf(ca.cert) }
}

/** Reads the fleet CA's certificate, if this data dir has one (the hub's). */
export function readFleetCa(dataDir: string): { cert: string; fingerprint: string } | undefined {
  const path = join(tlsDir(dataDir), 'ca.pem')
  if (!existsSync(path)) return undefined
  const cert = readFileSync(path, 'utf8')
  return { cert, fingerprint: fingerprintOf(cert) }
}

/** This machine's names and addresses: localhost, loopback, the host name and every interface address. */
export function localNames(): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname().toLowerCase()])
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) names.add(entry.address.replace(/%.*$/, ''))
  return [...names].filter(isHostName)
}

const NAME = /^(?=.{1,253}$)(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** A DNS name (or wildcard) or an IP address: what a certificate can name. */
export const isHostName = (name: string): boolean => isIP(name) !== 0 || NAME.test(name)

/** Refuses anything that is neither a DNS name nor an IP address. */
export function checkNames(names: string[]): string[] {
  const bad = names.filter((name) => !isHostName(name))
  if (bad.length > 0) {
    throw new ThreshError({ code: 'invalid_request', status: 400, message: `Not a host name or IP address: ${bad.map((b) => JSON.stringify(b)).join(', ')}.` })
  }
  return [...new Set(names.map((n) => n.toLowerCase()))]
}

/** A serving certificate for `names` (DNS names and IP addresses), signed by the CA. */
export async function issueServingCert(ca: FleetCa, names: string[], options: { days?: number; notBefore?: Date } = {}): Promise<TlsMaterial> {
  const valid = checkNames(names)
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000)
  const notAfter = new Date(notBefore.getTime() + (options.days ?? SERVING_DAYS) * DAY)
  const leaf = await generate(valid.find((n) => !isIP(n)) ?? valid[0] ?? 'thresh', {
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: valid.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
  })
  return { cert: leaf.cert + ca.cert, key: leaf.key, fingerprint: ca.fingerprint, notAfter }
}

/** The names a certificate was issued for (its subjectAltName), lower case. */
export function certificateNames(pem: string): string[] {
  const san = new X509Certificate(pemCertificates(pem)[0] ?? pem).subjectAltName ?? ''
  return san
    .split(/,\s*/)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, '').toLowerCase())
    .filter(Boolean)
}

/** True when a stored serving certificate is still good for `names`, signed by `ca`, and not near its end. */
export function servingCertFits(pem: string, ca: FleetCa, names: string[]): boolean {
  try {
    const [leafPem] = pemCertificates(pem)
    const leaf = new X509Certificate(leafPem!)
    if (!leaf.verify(new X509Certificate(ca.cert).publicKey)) return false
    if (new Date(leaf.validTo).getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY) return false
    const have = new Set(certificateNames(pem))
    return names.every((n) => have.has(n.toLowerCase()))
  } catch {
    return false
  }
}

/**
 * The role's TLS material: the configured cert/key files; else, on a role that owns the fleet CA
 * (the hub), a serving certificate signed by it for this machine's names and `advertise`, kept in
 * the data dir and re-issued when names change or it nears its end; else undefined (the caller
 * gets one another way, e.g. a mid-tier from its hub).
 */
export async function loadTlsMaterial(
  tls: TlsConfig,
  dataDir: string,
  options: { fleetCa?: boolean; advertise?: string[] } = {},
): Promise<TlsMaterial | undefined> {
  if (!tls.enabled) return undefined
  if (tls.cert && tls.key) {
    try {
      const cert = readFileSync(tls.cert, 'utf8')
      return { cert, key: readFileSync(tls.key, 'utf8') }
    } catch (cause) {
      throw new ThreshError({ code: 'tls_unreadable', message: `Cannot read the TLS certificate or key (${(cause as Error).message}).`, cause })
    }
  }
  if (!options.fleetCa) return undefined
  const ca = await ensureFleetCa(dataDir)
  const names = checkNames([...localNames(), ...(options.advertise ?? [])])
  return storedServingCert(dataDir, 'cert', ca, names)
}

/** A serving certificate kept as `tls/<name>.pem` + `<name>-key.pem`, issued again when it no longer fits. */
export async function storedServingCert(dataDir: string, name: string, ca: FleetCa, names: string[]): Promise<TlsMaterial> {
  const certPath = join(tlsDir(dataDir), `${name}.pem`)
  const keyPath = join(tlsDir(dataDir), `${name}-key.pem`)
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8')
    if (servingCertFits(cert, ca, names)) {
      return { cert, key: readFileSync(keyPath, 'utf8'), fingerprint: ca.fingerprint, notAfter: new Date(new X509Certificate(pemCertificates(cert)[0]!).validTo) }
    }
  }
  const issued = await issueServingCert(ca, names)
  mkdirSync(tlsDir(dataDir), { recursive: true, mode: 0o700 })
  writeFileSync(keyPath, issued.key, { mode: 0o600 })
  writeFileSync(certPath, issued.cert)
  return issued
}

/**
 * A plugin that gets the role's serving certificate from elsewhere (a mid-tier, from its hub)
 * provides this; the role serves `initial()` and swaps in each renewal.
 */
export interface ServingCertificateSource {
  initial(): Promise<TlsMaterial>
  onRenew(listener: (material: TlsMaterial) => void): void
}

declare module '../core/index.ts' {
  interface ThreshServices {
    'serving-certificate': ServingCertificateSource
  }
}
