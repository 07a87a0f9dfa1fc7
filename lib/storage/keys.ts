// Whether a stored key still admits its holder: not revoked, or rotated and still inside its grace period.
import type { KeyRecord } from './types.ts'

export function isKeyActive(key: Pick<KeyRecord, 'revokedAt' | 'revokeAfter'>, now: Date = new Date()): boolean {
  if (key.revokedAt !== undefined && Date.parse(key.revokedAt) <= now.getTime()) return false
  if (key.revokeAfter !== undefined && Date.parse(key.revokeAfter) <= now.getTime()) return false
  return true
}
