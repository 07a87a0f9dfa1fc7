// Stack secrets at rest on the hub: AES-256-GCM with a key from the hub's settings or from a key file
// in THRESH_HOME created (0600) on first use. Sealed text is `v1:<base64 of iv | tag | ciphertext>`.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ThreshError } from '../core/index.ts'

export interface SecretBox {
  seal(text: string): string
  open(sealed: string): string
}

export const SECRET_KEY_FILE = 'stack-secrets.key'

/** The 32-byte key from `configured` (64 hex digits or base64), else from the key file in `dataDir` (created when missing). */
export function loadSecretKey(dataDir: string, configured?: string): Buffer {
  if (configured !== undefined && configured !== '') {
    const key = /^[0-9a-fA-F]{64}$/.test(configured) ? Buffer.from(configured, 'hex') : Buffer.from(configured, 'base64')
    if (key.length !== 32) throw new ThreshError({ code: 'bad_config', message: 'stack-secrets-key must be 32 bytes: 64 hex digits or base64' })
    return key
  }
  const file = join(dataDir, SECRET_KEY_FILE)
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const key = randomBytes(32)
  try {
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
    return key
  } catch (error) {
    // Another hub process on the same home wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
    throw error
  }
}

export function createSecretBox(key: Buffer): SecretBox {
  return {
    seal(text) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
      return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`
    },
    open(sealed) {
      if (!sealed.startsWith('v1:')) throw new Error('not a sealed secret')
      const raw = Buffer.from(sealed.slice(3), 'base64')
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
      decipher.setAuthTag(raw.subarray(12, 28))
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
    },
  }
}

/** A digest of secret content for records and comparisons (never the content). */
export const contentDigest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16)

/** `value` with every `secrets`/`configs` entry at its top level passed through `each`. */
function mapStackFiles<T>(value: T, each: (file: Record<string, unknown>) => unknown): T {
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const kind of ['secrets', 'configs'] as const) {
    const files = out[kind]
    if (typeof files !== 'object' || files === null) continue
    out[kind] = Object.fromEntries(Object.entries(files as Record<string, Record<string, unknown>>).map(([name, file]) => [name, file ? each(file) : file]))
  }
  return out as T
}

/**
 * `value` with the content of every `secrets`/`configs` entry (at its top level) sealed: `{digest, sealed}`.
 * What the hub keeps of a definition or of a command's arguments.
 */
export function sealStackFiles<T>(value: T, box: SecretBox): T {
  return mapStackFiles(value, (file) => (typeof file.content === 'string' ? { digest: contentDigest(file.content), sealed: box.seal(file.content) } : file))
}

/** The inverse of `sealStackFiles`: each sealed `secrets`/`configs` entry gets its content back (throws if the key differs). */
export function openStackFiles<T>(value: T, box: SecretBox): T {
  return mapStackFiles(value, (file) => {
    if (typeof file.sealed !== 'string') return file
    const { sealed, digest: _, ...rest } = file
    return { ...rest, content: box.open(sealed) }
  })
}

/** A box whose key is loaded (and its file created) on first use, not when the hub starts. */
export function lazySecretBox(loadKey: () => Buffer): SecretBox {
  let box: SecretBox | undefined
  const get = () => (box ??= createSecretBox(loadKey()))
  return { seal: (text) => get().seal(text), open: (sealed) => get().open(sealed) }
}
