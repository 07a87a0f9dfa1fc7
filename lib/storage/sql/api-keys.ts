// API keys in SQL, with rotation: the successor is stored and the old key given its grace period in one
// transaction, so a half-done rotation never leaves the holder without a working key.
import type { SqlExecutor } from '../sql-executor.ts'
import type { KeysStore } from '../store-parts.ts'
import type { KeyRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, opt, type Row } from './rows.ts'

const toKey = (r: Row): KeyRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    type: r.type,
    name: r.name,
    keyHash: r.key_hash,
    prefix: r.prefix,
    createdAt: iso(r.created_at)!,
    revokedAt: iso(r.revoked_at),
    revokeAfter: iso(r.revoke_after),
    rotatedTo: opt(r.rotated_to),
    lastUsedAt: iso(r.last_used_at),
  })

export function createSqlKeys({ db, run, q, patchRow }: SqlContext): KeysStore {
  async function insertKey(exec: SqlExecutor, record: KeyRecord): Promise<void> {
    await run(
      exec,
      `insert into api_keys (id, account_id, type, name, key_hash, prefix, created_at, revoked_at, revoke_after, rotated_to, last_used_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        record.id,
        record.accountId,
        record.type,
        record.name,
        record.keyHash,
        record.prefix,
        record.createdAt,
        record.revokedAt ?? null,
        record.revokeAfter ?? null,
        record.rotatedTo ?? null,
        record.lastUsedAt ?? null,
      ],
    )
  }

  return {
    async createKey(record) {
      await insertKey(db, record)
      return { ...record }
    },
    async findKeyByHash(keyHash) {
      const [row] = await q('select * from api_keys where key_hash = $1', [keyHash])
      return row && toKey(row)
    },
    async getKey(accountId, id) {
      const [row] = await q('select * from api_keys where account_id = $1 and id = $2', [accountId, id])
      return row && toKey(row)
    },
    async listKeys(accountId) {
      return (await q('select * from api_keys where account_id = $1 order by created_at, id', [accountId])).map(toKey)
    },
    async updateKey(accountId, id, patch) {
      return patchRow('api_keys', accountId, id, patch, {
        revokedAt: 'timestamptz',
        revokeAfter: 'timestamptz',
        rotatedTo: 'text',
        lastUsedAt: 'timestamptz',
        name: 'text',
      })
    },
    async rotateKey(accountId, id, next, graceUntil) {
      return db.transaction(async (tx) => {
        const [old] = await run(tx, 'select * from api_keys where account_id = $1 and id = $2 and revoked_at is null for update', [accountId, id])
        if (!old) return undefined
        await insertKey(tx, { ...next, accountId })
        await run(
          tx,
          `update api_keys set revoke_after = least(coalesce(revoke_after, 'infinity'), $3::text::timestamptz), rotated_to = $4
           where account_id = $1 and id = $2`,
          [accountId, id, graceUntil, next.id],
        )
        return { ...next, accountId }
      })
    },
  }
}
