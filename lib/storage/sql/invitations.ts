// Invitations to join an account in SQL; accepting one and creating its user is one transaction.
import type { InvitationsStore } from '../store-parts.ts'
import type { InvitationRecord } from '../types.ts'
import { INSERT_USER, userParams } from './accounts.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, opt, type Row } from './rows.ts'

const toInvitation = (r: Row): InvitationRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    role: r.role,
    tokenHash: r.token_hash,
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at)!,
    acceptedAt: iso(r.accepted_at),
    acceptedBy: opt(r.accepted_by),
    revokedAt: iso(r.revoked_at),
  })

export function createSqlInvitations({ db, q, run }: SqlContext): InvitationsStore {
  return {
    async createInvitation(record) {
      await q(
        `insert into invitations (id, account_id, role, token_hash, created_by, created_at, expires_at, accepted_at, accepted_by, revoked_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          record.id,
          record.accountId,
          record.role,
          record.tokenHash,
          record.createdBy,
          record.createdAt,
          record.expiresAt,
          record.acceptedAt ?? null,
          record.acceptedBy ?? null,
          record.revokedAt ?? null,
        ],
      )
      return { ...record }
    },
    async findInvitationByHash(tokenHash) {
      const [row] = await q('select * from invitations where token_hash = $1', [tokenHash])
      return row && toInvitation(row)
    },
    async getInvitation(accountId, id) {
      const [row] = await q('select * from invitations where account_id = $1 and id = $2', [accountId, id])
      return row && toInvitation(row)
    },
    async listInvitations(accountId) {
      return (await q('select * from invitations where account_id = $1 order by created_at, id', [accountId])).map(toInvitation)
    },
    async revokeInvitation(accountId, id, at) {
      const rows = await q('update invitations set revoked_at = $3 where account_id = $1 and id = $2 and accepted_at is null and revoked_at is null returning 1', [accountId, id, at])
      return rows.length > 0
    },
    async acceptInvitation(accountId, id, user, at) {
      return db.transaction(async (tx) => {
        const taken = await run(
          tx,
          `update invitations set accepted_at = $3, accepted_by = $4
           where account_id = $1 and id = $2 and accepted_at is null and revoked_at is null and expires_at > $3 returning 1`,
          [accountId, id, at, user.username],
        )
        if (taken.length === 0) return false
        await run(tx, INSERT_USER, userParams(user))
        return true
      })
    },
  }
}
