// The mid-tier's serving certificate, signed by its hub's fleet CA for the names and addresses agents
// reach it at (this machine's, and --advertise): agents pinned to the fleet CA trust it with no extra
// step. Kept in `$THRESH_HOME/tls/midtier.pem`, asked for again when a third of its life is left.
// While the hub cannot be asked, a kept certificate is served; with none, one from this mid-tier's
// own CA (agents pinned to the hub's CA refuse it, and are told so) until the hub answers.
import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../../core/index.ts'
import { certificateNames, ensureFleetCa, fingerprintOf, localNames, normalizeFingerprint, pemCertificates, storedServingCert, type ServingCertificateSource, type TlsMaterial } from '../../lib/tls.ts'
import type { HubHttp } from './hub-http.ts'

export interface MidtierCertificateOptions {
  /** The hub to ask: the one the mid-tier is connected to (it may move between the fleet's hubs). */
  hub: () => { url: string; http: HubHttp }
  apiKey: string
  dataDir: string
  advertise: string[]
  /** The pinned fleet CA: a kept certificate must chain to it. */
  fingerprint?: string
  logger: Logger
  /** How long the first start waits for the hub before serving a stand-in (default 8 s). */
  waitMs?: number
  /** Between attempts while the hub cannot be asked (default 30 s). */
  retryMs?: number
}

export interface MidtierCertificate extends ServingCertificateSource {
  close(): void
}

const DAY = 86_400_000
const MAX_TIMER = 86_400_000

interface Kept extends TlsMaterial {
  notBefore: Date
  notAfter: Date
}

export function createMidtierCertificate(options: MidtierCertificateOptions): MidtierCertificate {
  const names = [...new Set([...localNames(), ...options.advertise.map((n) => n.toLowerCase())])]
  const dir = join(options.dataDir, 'tls')
  const certPath = join(dir, 'midtier.pem')
  const keyPath = join(dir, 'midtier-key.pem')
  const pin = options.fingerprint ? normalizeFingerprint(options.fingerprint) : undefined
  const listeners = new Set<(material: TlsMaterial) => void>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false

  const describe = (pem: string, key: string): Kept => {
    const leaf = new X509Certificate(pemCertificates(pem)[0]!)
    const chain = pemCertificates(pem)
    return { cert: pem, key, fingerprint: fingerprintOf(chain.at(-1)!), notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) }
  }
  const renewAt = (kept: Kept) => kept.notAfter.getTime() - (kept.notAfter.getTime() - kept.notBefore.getTime()) / 3

  const readKept = (): Kept | undefined => {
    if (!existsSync(certPath) || !existsSync(keyPath)) return undefined
    try {
      const kept = describe(readFileSync(certPath, 'utf8'), readFileSync(keyPath, 'utf8'))
      const have = new Set(certificateNames(kept.cert))
      if (kept.notAfter.getTime() <= Date.now() + DAY) return undefined
      if (!names.every((n) => have.has(n))) return undefined
      if (pin && !pemCertificates(kept.cert).some((pem) => fingerprintOf(pem) === pin)) return undefined
      return kept
    } catch {
      return undefined
    }
  }

  const ask = async (): Promise<Kept> => {
    const hub = options.hub()
    const response = await hub.http.client.post(`${hub.url.replace(/\/+$/, '')}/api/v1/midtier/certificate`, {
      content: JSON.stringify({ names }),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${options.apiKey}` },
      timeout: 20_000,
    })
    const body = JSON.parse(String(response.content ?? '{}')) as { certificate?: string; key?: string }
    if (typeof body.certificate !== 'string' || typeof body.key !== 'string') throw new Error('the hub answered without a certificate')
    const kept = describe(body.certificate, body.key)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeFileSync(keyPath, kept.key, { mode: 0o600 })
    writeFileSync(certPath, kept.cert)
    return kept
  }

  const reason = (error: unknown) => {
    const status = (error as { statusCode?: number }).statusCode
    if (!status) return (error as Error)?.message ?? String(error)
    let said = ''
    try {
      said = String((JSON.parse((error as Error).message) as { message?: string }).message ?? '')
    } catch {
      said = ''
    }
    return `the hub answered ${status}${said ? `: ${said.replace(/\.$/, '')}` : status === 401 || status === 403 ? ' (is the mid-tier key valid?)' : ''}`
  }

  const schedule = (at: number, run: () => Promise<void>) => {
    if (closed) return
    if (timer) clearTimeout(timer)
    const wait = Math.max(0, at - Date.now())
    timer = setTimeout(() => (wait > MAX_TIMER ? schedule(at, run) : void run()), Math.min(wait, MAX_TIMER))
  }

  // Renewal (or, after a stand-in, the first real certificate): on failure, again after retryMs.
  const renew = async () => {
    try {
      const kept = await ask()
      options.logger.info(`Got a certificate from the hub for ${names.join(', ')} (valid until ${kept.notAfter.toISOString()}).`)
      for (const listener of listeners) listener(kept)
      schedule(renewAt(kept), renew)
    } catch (error) {
      options.logger.warn(`Cannot get a certificate from the hub: ${reason(error)}; trying again in ${Math.round((options.retryMs ?? 30_000) / 1000)} s.`)
      schedule(Date.now() + (options.retryMs ?? 30_000), renew)
    }
  }

  return {
    async initial() {
      const kept = readKept()
      if (kept) {
        schedule(renewAt(kept), renew)
        return kept
      }
      const deadline = Date.now() + (options.waitMs ?? 8_000)
      let lastError: unknown
      while (Date.now() < deadline && !closed) {
        try {
          const fresh = await ask()
          options.logger.info(`Got a certificate from the hub for ${names.join(', ')} (valid until ${fresh.notAfter.toISOString()}).`)
          schedule(renewAt(fresh), renew)
          return fresh
        } catch (error) {
          lastError = error
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      }
      options.logger.warn(
        `Cannot get a certificate from the hub yet (${reason(lastError)}); serving one from this mid-tier's own CA until it answers. Agents pinned to the hub's fleet CA refuse this mid-tier meanwhile.`,
      )
      schedule(Date.now() + (options.retryMs ?? 30_000), renew)
      const own = await ensureFleetCa(options.dataDir)
      return storedServingCert(options.dataDir, 'cert', own, names)
    },
    onRenew(listener) {
      listeners.add(listener)
    },
    close() {
      closed = true
      if (timer) clearTimeout(timer)
    },
  }
}
