// TLS material for a role: the configured cert/key files, or a self-signed certificate made on
// first start and kept in the data dir so clients can pin it across restarts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ThreshError, type TlsConfig } from '../core/index.ts'

export async function loadTlsMaterial(tls: TlsConfig, dataDir: string): Promise<{ cert: string; key: string } | undefined> {
  if (!tls.enabled) return undefined
  if (tls.cert && tls.key) {
    try {
      return { cert: readFileSync(tls.cert, 'utf8'), key: readFileSync(tls.key, 'utf8') }
    } catch (cause) {
      throw new ThreshError({ code: 'tls_unreadable', message: `Cannot read the TLS certificate or key (${(cause as Error).message}).`, cause })
    }
  }
  const dir = join(dataDir, 'tls')
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') }
  }
  const { generate } = await import('selfsigned')
  const pems = await generate([{ name: 'commonName', value: 'thresh' }], {
    keySize: 2048,
    days: 825,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  } as never)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(keyPath, pems.private, { mode: 0o600 })
  writeFileSync(certPath, pems.cert)
  return { cert: pems.cert, key: pems.private }
}
