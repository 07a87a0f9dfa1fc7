// Credentials: random keys and tokens shown once and kept only as SHA-256 hashes, compared in
// constant time; passwords hashed with scrypt (node:crypto, so Deno runs it too).
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import type { CredentialKind } from '../../lib/auth/principal.ts'
export type { CredentialKind } from '../../lib/auth/principal.ts'
export { newId } from '../../lib/ids.ts'

const PREFIX: Record<CredentialKind, string> = { live: 'thresh_live_', mid: 'thresh_mid_', cli: 'thresh_cli_' }
const CREDENTIAL = /^thresh_(live|mid|cli)_([a-z0-9]{1,32})_([A-Za-z0-9]{16,128})$/

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Compares two hex digests in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right)
}

export interface NewCredential {
  token: string
  hash: string
  /** Enough of the token to recognise it in a list; never enough to use it. */
  prefix: string
}

/** `thresh_<kind>_<account>_<secret>` with a 192-bit secret. */
export function newCredential(kind: CredentialKind, accountId: string): NewCredential {
  const secret = randomBytes(24).toString('hex')
  const token = `${PREFIX[kind]}${accountId}_${secret}`
  return { token, hash: sha256(token), prefix: `${PREFIX[kind]}${accountId}_${secret.slice(0, 6)}…` }
}

export function parseCredential(token: string): { kind: CredentialKind; accountId: string } | undefined {
  const match = CREDENTIAL.exec(token)
  return match ? { kind: match[1] as CredentialKind, accountId: match[2]! } : undefined
}

/** A password someone can type: 20 characters from an unambiguous alphabet (~115 bits). */
export function newPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  const bytes = randomBytes(20)
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('')
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 }

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p), expected.length)
  return timingSafeEqual(key, expected)
}

/** A password check that costs as much as a real one, for unknown users (no timing oracle). */
export async function burnPasswordCheck(password: string): Promise<void> {
  await scryptAsync(password, Buffer.alloc(16), SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen)
}

const INVITATION = /^thresh_inv_[0-9a-f]{48}$/

/** `thresh_inv_<secret>`: an invitation link's token, 192 random bits; the hub keeps only its hash. */
export function newInvitationToken(): { token: string; hash: string } {
  const token = `thresh_inv_${randomBytes(24).toString('hex')}`
  return { token, hash: sha256(token) }
}

export function isInvitationToken(text: string): boolean {
  return INVITATION.test(text)
}
