// The users of an account and their roles: listing, changing a role, removing (their sessions end at
// once), and invitations: one-time links that let someone join with a role and their own password.
import { ThreshError } from '../../core/index.ts'
import { actorOf, type Principal } from '../../lib/auth/principal.ts'
import { accountRoleOf, isHubOwner, rolesFor, type AccountRole } from '../../lib/auth/roles.ts'
import type { FleetStore, InvitationRecord, UserRecord } from '../../lib/storage/types.ts'
import type { AuditWriter, AuthService, LoginResult } from './auth-service.ts'
import { createKeyedQueue } from '../../lib/keyed-queue.ts'
import { hashPassword, isInvitationToken, newId, newInvitationToken, sha256 } from './secrets.ts'

export interface UserView {
  id: string
  userName: string
  role: AccountRole
  /** The hub's first owner, who may create accounts. */
  hubOwner: boolean
  createdAt: string
  /** The signed-in user. */
  you: boolean
}

export interface InvitationView {
  id: string
  role: AccountRole
  status: 'pending' | 'accepted' | 'expired' | 'revoked'
  createdBy: string
  createdAt: string
  expiresAt: string
  acceptedBy: string | null
  acceptedAt: string | null
  revokedAt: string | null
}

export interface UsersService {
  list(principal: Principal): Promise<UserView[]>
  setRole(principal: Principal, userName: string, role: AccountRole): Promise<UserView>
  /** Removes the user from the account; every session of theirs stops working at once. */
  remove(principal: Principal, userName: string): Promise<{ removed: true; userName: string; sessionsEnded: number }>
  /** The token is in this answer only. */
  invite(principal: Principal, input: { role: AccountRole; expiresInSeconds?: number }): Promise<InvitationView & { token: string }>
  listInvitations(principal: Principal): Promise<InvitationView[]>
  revokeInvitation(principal: Principal, id: string): Promise<InvitationView>
  /** Joins the invitation's account as a new user and signs them in. */
  accept(input: { token: string; username: string; password: string; client?: string; ip?: string }): Promise<LoginResult>
}

export const DEFAULT_INVITATION_TTL_S = 7 * 24 * 3600
export const MAX_INVITATION_TTL_S = 30 * 24 * 3600

const error = (status: number, code: string, message: string) => new ThreshError({ code, status, plugin: 'hub-auth', message })

function invitationStatus(i: InvitationRecord, now = Date.now()): InvitationView['status'] {
  if (i.acceptedAt) return 'accepted'
  if (i.revokedAt) return 'revoked'
  return Date.parse(i.expiresAt) <= now ? 'expired' : 'pending'
}

function viewInvitation(i: InvitationRecord): InvitationView {
  return {
    id: i.id,
    role: accountRoleOf([i.role]),
    status: invitationStatus(i),
    createdBy: i.createdBy,
    createdAt: i.createdAt,
    expiresAt: i.expiresAt,
    acceptedBy: i.acceptedBy ?? null,
    acceptedAt: i.acceptedAt ?? null,
    revokedAt: i.revokedAt ?? null,
  }
}

const GONE: Record<Exclude<InvitationView['status'], 'pending'>, [string, string]> = {
  accepted: ['invitation_used', 'This invitation has already been used; ask for a new one.'],
  revoked: ['invitation_revoked', 'This invitation was revoked; ask for a new one.'],
  expired: ['invitation_expired', 'This invitation has expired; ask for a new one.'],
}

export function createUsersService(store: FleetStore, auth: AuthService, audit: AuditWriter): UsersService {
  const view = (u: UserRecord, principal: Principal): UserView => ({
    id: u.id,
    userName: u.username,
    role: accountRoleOf(u.roles),
    hubOwner: isHubOwner(u.roles),
    createdAt: u.createdAt,
    you: u.id === principal.userId,
  })

  /** Another account's user answers exactly like no user, so names do not leak across tenants. */
  async function userNamed(principal: Principal, userName: string): Promise<UserRecord> {
    const user = await store.findUserByName(userName)
    if (!user || user.accountId !== principal.accountId) throw error(404, 'not_found', `No user named '${userName}' in this account.`)
    return user
  }

  function mayTouch(principal: Principal, role: AccountRole, what: string): void {
    if (role === 'owner' && accountRoleOf(principal.roles) !== 'owner') throw error(403, 'forbidden', `Only an owner may ${what}.`)
  }

  async function isLastOwner(user: UserRecord): Promise<boolean> {
    if (accountRoleOf(user.roles) !== 'owner') return false
    const owners = (await store.listUsers(user.accountId)).filter((u) => accountRoleOf(u.roles) === 'owner')
    return owners.length <= 1
  }

  const ownersChange = createKeyedQueue()

  return {
    async list(principal) {
      return (await store.listUsers(principal.accountId)).map((u) => view(u, principal))
    },

    // Role changes and removals in one account run one at a time, so two owners demoting each other
    // at once cannot both pass the last-owner check.
    setRole: (principal, userName, role) => ownersChange(principal.accountId, async () => {
      const user = await userNamed(principal, userName)
      const before = accountRoleOf(user.roles)
      if (before === role) return view(user, principal)
      mayTouch(principal, before, "change an owner's role")
      mayTouch(principal, role, 'make someone an owner')
      if (await isLastOwner(user)) throw error(409, 'last_owner', `'${userName}' is the last owner of this account; make another user owner first.`)
      const roles = rolesFor(role, user.roles)
      await store.updateUser(principal.accountId, user.id, { roles })
      auth.forgetUser(user.id)
      await audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'user.role', target: `user:${userName}`, details: { from: before, to: role } })
      return view({ ...user, roles }, principal)
    }),

    remove: (principal, userName) => ownersChange(principal.accountId, async () => {
      const user = await userNamed(principal, userName)
      const role = accountRoleOf(user.roles)
      mayTouch(principal, role, 'remove an owner')
      if (isHubOwner(user.roles)) throw error(409, 'hub_owner', `'${userName}' is the hub owner and cannot be removed.`)
      if (await isLastOwner(user)) throw error(409, 'last_owner', `'${userName}' is the last owner of this account; make another user owner first.`)
      const now = Date.now()
      const sessionsEnded = (await store.listSessions(principal.accountId, user.id)).filter((s) => !s.revokedAt && Date.parse(s.expiresAt) > now).length
      await store.deleteUser(principal.accountId, user.id)
      auth.forgetUser(user.id)
      await audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'user.remove', target: `user:${userName}`, details: { role, sessionsEnded } })
      return { removed: true, userName, sessionsEnded }
    }),

    async invite(principal, { role, expiresInSeconds }) {
      mayTouch(principal, role, 'invite an owner')
      const ttl = expiresInSeconds ?? DEFAULT_INVITATION_TTL_S
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_INVITATION_TTL_S) {
        throw error(400, 'invalid_request', `expiresIn must be a whole number of seconds from 1 to ${MAX_INVITATION_TTL_S} (30 days).`)
      }
      const { token, hash } = newInvitationToken()
      const now = new Date()
      const record: InvitationRecord = {
        id: newId(),
        accountId: principal.accountId,
        role,
        tokenHash: hash,
        createdBy: actorOf(principal),
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ttl * 1000).toISOString(),
      }
      await store.createInvitation(record)
      await audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'user.invite', target: `invitation:${record.id}`, details: { role, expiresAt: record.expiresAt } })
      return { ...viewInvitation(record), token }
    },

    async listInvitations(principal) {
      return (await store.listInvitations(principal.accountId)).map(viewInvitation)
    },

    async revokeInvitation(principal, id) {
      const invitation = await store.getInvitation(principal.accountId, id)
      if (!invitation) throw error(404, 'not_found', `No invitation with id ${id} in this account.`)
      mayTouch(principal, accountRoleOf([invitation.role]), 'revoke an invitation to become owner')
      const status = invitationStatus(invitation)
      if (status === 'accepted') throw error(409, 'conflict', `Invitation ${id} was already accepted by '${invitation.acceptedBy}'; remove that user instead.`)
      if (status !== 'revoked') {
        invitation.revokedAt = new Date().toISOString()
        await store.revokeInvitation(principal.accountId, id, invitation.revokedAt)
        await audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'user.invitation-revoke', target: `invitation:${id}`, details: { role: invitation.role } })
      }
      return viewInvitation(invitation)
    },

    async accept({ token, username, password, client, ip }) {
      const invitation = isInvitationToken(token) ? await store.findInvitationByHash(sha256(token)) : undefined
      if (!invitation) throw error(400, 'invalid_invitation', 'This invitation link is not valid; check that it was copied whole, or ask for a new one.')
      const refuse = (status: InvitationView['status']) => {
        if (status === 'pending') return
        const [code, message] = GONE[status]
        throw error(410, code, message)
      }
      refuse(invitationStatus(invitation))
      if (await store.findUserByName(username)) throw error(409, 'conflict', `The username '${username}' is taken; choose another.`)
      const user: UserRecord = {
        id: newId(),
        accountId: invitation.accountId,
        username,
        passwordHash: await hashPassword(password),
        mustChangePassword: false,
        roles: rolesFor(accountRoleOf([invitation.role])),
        createdAt: new Date().toISOString(),
      }
      if (!(await store.acceptInvitation(invitation.accountId, invitation.id, user, user.createdAt))) {
        // Someone else used or revoked it between the check and now.
        const now = await store.getInvitation(invitation.accountId, invitation.id)
        refuse(now ? invitationStatus(now) : 'revoked')
        throw error(410, 'invitation_used', GONE.accepted[1])
      }
      await audit({ accountId: invitation.accountId, actor: username, action: 'user.join', target: `user:${username}`, details: { role: invitation.role, invitationId: invitation.id, invitedBy: invitation.createdBy } })
      return auth.login({ username, password, ...(client ? { client } : {}), ...(ip ? { ip } : {}) })
    },
  }
}
