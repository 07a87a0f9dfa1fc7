// Accounts, their users and the users' login sessions in memory, with the SQL store's unique rules.
import { conflict } from '../../lib/storage/errors.ts'
import type { AccountsStore } from '../../lib/storage/store-parts.ts'
import type { AccountRecord, UserRecord } from '../../lib/storage/types.ts'
import { applyPatch, byTime, copy, time } from './records.ts'
import { ensureNewId, inAccount, needAccount, plugin, type MemoryState } from './state.ts'

export function createMemoryAccounts(state: MemoryState): AccountsStore {
  const { accounts, users, sessions } = state
  return {
    async createAccount(record) {
      ensureNewId(accounts, record.id)
      accounts.set(record.id, copy(record))
      return copy(record)
    },
    async getAccount(id) {
      return copy(accounts.get(id))
    },
    async listAccounts() {
      return copy([...accounts.values()].sort((a, b) => byTime<AccountRecord>('createdAt')(a, b) || a.id.localeCompare(b.id)))
    },

    async createUser(record) {
      needAccount(state, record.accountId)
      ensureNewId(users, record.id)
      if ([...users.values()].some((u) => u.username === record.username)) throw conflict('A user with that username already exists.', plugin)
      users.set(record.id, copy(record))
      return copy(record)
    },
    async findUserByName(username) {
      return copy([...users.values()].find((u) => u.username === username))
    },
    async getUser(accountId, id) {
      return copy(inAccount(users, accountId, id))
    },
    async listUsers(accountId) {
      return copy([...users.values()].filter((u) => u.accountId === accountId).sort((a, b) => byTime<UserRecord>('createdAt')(a, b) || a.username.localeCompare(b.username)))
    },
    async updateUser(accountId, id, patch) {
      const user = inAccount(users, accountId, id)
      if (user) applyPatch(user, patch)
      return user !== undefined
    },
    async deleteUser(accountId, id) {
      if (!inAccount(users, accountId, id)) return false
      users.delete(id)
      for (const [sid, s] of sessions) if (s.userId === id) sessions.delete(sid)
      return true
    },
    async countUsers() {
      return users.size
    },

    async createSession(record) {
      needAccount(state, record.accountId)
      ensureNewId(sessions, record.id)
      if ([...sessions.values()].some((s) => s.tokenHash === record.tokenHash)) throw conflict('That session token is already in use.', plugin)
      sessions.set(record.id, copy(record))
      return copy(record)
    },
    async findSessionByHash(tokenHash) {
      return copy([...sessions.values()].find((s) => s.tokenHash === tokenHash))
    },
    async listSessions(accountId, userId) {
      return copy([...sessions.values()].filter((s) => s.accountId === accountId && s.userId === userId).sort(byTime('createdAt')))
    },
    async touchSession(accountId, id, at) {
      const session = inAccount(sessions, accountId, id)
      if (session) session.lastUsedAt = at
    },
    async revokeSession(accountId, id, at) {
      const session = inAccount(sessions, accountId, id)
      if (session) session.revokedAt ??= at
      return session !== undefined
    },
    async pruneSessions(before) {
      let n = 0
      for (const [id, s] of sessions) {
        if (time(s.expiresAt) < time(before)) {
          sessions.delete(id)
          n++
        }
      }
      return n
    },
  }
}
