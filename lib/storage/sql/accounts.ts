// Accounts, their users and the users' login sessions in SQL.
import type { AccountsStore } from '../store-parts.ts'
import type { AccountRecord, SessionRecord, UserRecord } from '../types.ts'
import type { SqlParam } from '../sql-executor.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

const toAccount = (r: Row): AccountRecord => ({ id: r.id, name: r.name, createdAt: iso(r.created_at)! })
const toUser = (r: Row): UserRecord => ({
  id: r.id,
  accountId: r.account_id,
  username: r.username,
  passwordHash: r.password_hash,
  mustChangePassword: r.must_change_password,
  roles: r.roles ?? [],
  createdAt: iso(r.created_at)!,
})
const toSession = (r: Row): SessionRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    userId: r.user_id,
    tokenHash: r.token_hash,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at)!,
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
    userAgent: opt(r.user_agent),
    ip: opt(r.ip),
  })

/** Shared with accepting an invitation, which creates its user inside its own transaction. */
export const INSERT_USER = `insert into users (id, account_id, username, password_hash, must_change_password, roles, created_at)
  values ($1, $2, $3, $4, $5, $6::text::jsonb, $7)`
export const userParams = (u: UserRecord): SqlParam[] => [u.id, u.accountId, u.username, u.passwordHash, u.mustChangePassword, json(u.roles), u.createdAt]

export function createSqlAccounts({ q, patchRow }: SqlContext): AccountsStore {
  return {
    async createAccount(record) {
      await q('insert into accounts (id, name, created_at) values ($1, $2, $3)', [record.id, record.name, record.createdAt])
      return { ...record }
    },
    async getAccount(id) {
      const [row] = await q('select * from accounts where id = $1', [id])
      return row && toAccount(row)
    },
    async listAccounts() {
      return (await q('select * from accounts order by created_at, id')).map(toAccount)
    },

    async createUser(record) {
      await q(INSERT_USER, userParams(record))
      return structuredClone(record)
    },
    async findUserByName(username) {
      const [row] = await q('select * from users where username = $1', [username])
      return row && toUser(row)
    },
    async getUser(accountId, id) {
      const [row] = await q('select * from users where account_id = $1 and id = $2', [accountId, id])
      return row && toUser(row)
    },
    async listUsers(accountId) {
      return (await q('select * from users where account_id = $1 order by created_at, username', [accountId])).map(toUser)
    },
    async updateUser(accountId, id, patch) {
      return patchRow('users', accountId, id, patch, { passwordHash: 'text', mustChangePassword: 'boolean', roles: 'jsonb' })
    },
    async deleteUser(accountId, id) {
      // Sessions go with the user (on delete cascade).
      return (await q('delete from users where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },
    async countUsers() {
      const [row] = await q<{ n: number }>('select count(*)::int as n from users')
      return Number(row!.n)
    },

    async createSession(record) {
      await q(
        `insert into sessions (id, account_id, user_id, token_hash, created_at, expires_at, last_used_at, revoked_at, user_agent, ip)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          record.id,
          record.accountId,
          record.userId,
          record.tokenHash,
          record.createdAt,
          record.expiresAt,
          record.lastUsedAt ?? null,
          record.revokedAt ?? null,
          record.userAgent ?? null,
          record.ip ?? null,
        ],
      )
      return { ...record }
    },
    async findSessionByHash(tokenHash) {
      const [row] = await q('select * from sessions where token_hash = $1', [tokenHash])
      return row && toSession(row)
    },
    async listSessions(accountId, userId) {
      return (await q('select * from sessions where account_id = $1 and user_id = $2 order by created_at, id', [accountId, userId])).map(toSession)
    },
    async touchSession(accountId, id, at) {
      await q('update sessions set last_used_at = $3 where account_id = $1 and id = $2', [accountId, id, at])
    },
    async revokeSession(accountId, id, at) {
      const rows = await q('update sessions set revoked_at = coalesce(revoked_at, $3) where account_id = $1 and id = $2 returning 1', [accountId, id, at])
      return rows.length > 0
    },
    async pruneSessions(before) {
      const [row] = await q<{ n: number }>('with d as (delete from sessions where expires_at < $1 returning 1) select count(*)::int as n from d', [before])
      return Number(row!.n)
    },
  }
}
