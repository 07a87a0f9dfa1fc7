// API keys in memory, with rotation: the successor is stored and the old key kept until its grace ends.
import { conflict } from '../../lib/storage/errors.ts'
import type { KeysStore } from '../../lib/storage/store-parts.ts'
import type { KeyRecord } from '../../lib/storage/types.ts'
import { applyPatch, byTime, copy, time } from './records.ts'
import { ensureNewId, inAccount, needAccount, plugin, type MemoryState } from './state.ts'

export function createMemoryKeys(state: MemoryState): KeysStore {
  const { keys } = state
  const part: KeysStore = {
    async createKey(record) {
      needAccount(state, record.accountId)
      ensureNewId(keys, record.id)
      if ([...keys.values()].some((k) => k.keyHash === record.keyHash)) throw conflict('That key is already registered.', plugin)
      keys.set(record.id, copy(record))
      return copy(record)
    },
    async findKeyByHash(keyHash) {
      return copy([...keys.values()].find((k) => k.keyHash === keyHash))
    },
    async getKey(accountId, id) {
      return copy(inAccount(keys, accountId, id))
    },
    async listKeys(accountId) {
      return copy([...keys.values()].filter((k) => k.accountId === accountId).sort((a, b) => byTime<KeyRecord>('createdAt')(a, b) || a.id.localeCompare(b.id)))
    },
    async updateKey(accountId, id, patch) {
      const key = inAccount(keys, accountId, id)
      if (key) applyPatch(key, patch)
      return key !== undefined
    },
    async rotateKey(accountId, id, next, graceUntil) {
      const old = inAccount(keys, accountId, id)
      if (!old || old.revokedAt !== undefined) return undefined
      await part.createKey({ ...next, accountId })
      if (old.revokeAfter === undefined || time(graceUntil) < time(old.revokeAfter)) old.revokeAfter = graceUntil
      old.rotatedTo = next.id
      return copy({ ...next, accountId })
    },
  }
  return part
}
