// Invitations in memory; accepting one checks, marks it and creates the user with nothing in between,
// as the SQL store's transaction does.
import { conflict } from '../../lib/storage/errors.ts'
import type { InvitationsStore } from '../../lib/storage/store-parts.ts'
import { byTime, copy, time } from './records.ts'
import { ensureNewId, inAccount, needAccount, plugin, type MemoryState } from './state.ts'

export function createMemoryInvitations(state: MemoryState): InvitationsStore {
  const { invitations, users } = state
  return {
    async createInvitation(record) {
      needAccount(state, record.accountId)
      ensureNewId(invitations, record.id)
      if ([...invitations.values()].some((i) => i.tokenHash === record.tokenHash)) throw conflict('That invitation token is already in use.', plugin)
      invitations.set(record.id, copy(record))
      return copy(record)
    },
    async findInvitationByHash(tokenHash) {
      return copy([...invitations.values()].find((i) => i.tokenHash === tokenHash))
    },
    async getInvitation(accountId, id) {
      return copy(inAccount(invitations, accountId, id))
    },
    async listInvitations(accountId) {
      return copy([...invitations.values()].filter((i) => i.accountId === accountId).sort(byTime('createdAt')))
    },
    async revokeInvitation(accountId, id, at) {
      const invitation = inAccount(invitations, accountId, id)
      if (!invitation || invitation.acceptedAt || invitation.revokedAt) return false
      invitation.revokedAt = at
      return true
    },
    async acceptInvitation(accountId, id, user, at) {
      const invitation = inAccount(invitations, accountId, id)
      if (!invitation || invitation.acceptedAt || invitation.revokedAt || time(invitation.expiresAt) <= time(at)) return false
      ensureNewId(users, user.id)
      if ([...users.values()].some((u) => u.username === user.username)) throw conflict('A user with that username already exists.', plugin)
      users.set(user.id, copy(user))
      invitation.acceptedAt = at
      invitation.acceptedBy = user.username
      return true
    },
  }
}
