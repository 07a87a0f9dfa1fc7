// users: the people of an account, their roles, and invitations (one-time links) for new ones.
import { MIN_PASSWORD_LENGTH } from '../../hub-auth/auth-service.ts'
import { ACCOUNT_ROLES, type AccountRole } from '../../../lib/auth/roles.ts'
import { arr, bool, int, obj, str } from '../schema.ts'
import { ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

const role = str({ enum: [...ACCOUNT_ROLES], description: 'viewer reads; operator deploys and runs day-2 actions; admin manages keys and users; owner also manages owners' })
const userView = obj({ id: str(), userName: str(), role, hubOwner: bool(), createdAt: str({ format: 'date-time' }), you: bool() })
const invitationView = obj({
  id: str(),
  role,
  status: str({ enum: ['pending', 'accepted', 'expired', 'revoked'] }),
  createdBy: str(),
  createdAt: str({ format: 'date-time' }),
  expiresAt: str({ format: 'date-time' }),
  acceptedBy: str({ nullable: true }),
  acceptedAt: str({ format: 'date-time', nullable: true }),
  revokedAt: str({ format: 'date-time', nullable: true }),
})

export const userRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/users',
    summary: "List the account's users with their roles",
    tag: 'users',
    scope: 'cli',
    role: 'admin',
    status: 200,
    response: obj({ users: arr(userView) }),
    async handle({ principal, services }) {
      return ok({ users: await services.users.list(principal!) })
    },
  },
  {
    method: 'patch',
    path: '/api/users/{name}',
    summary: "Change a user's role",
    description: 'Only an owner may change an owner or make one (403); the last owner cannot step down (409 last_owner).',
    tag: 'users',
    scope: 'cli',
    role: 'admin',
    body: obj({ role }, ['role']),
    status: 200,
    response: userView,
    async handle({ principal, params, body, services }) {
      return ok(await services.users.setRole(principal!, params.name!, (body as { role: AccountRole }).role))
    },
  },
  {
    method: 'delete',
    path: '/api/users/{name}',
    summary: 'Remove a user from the account; their sessions end at once',
    description: 'Only an owner may remove an owner; the last owner and the hub owner cannot be removed (409).',
    tag: 'users',
    scope: 'cli',
    role: 'admin',
    status: 200,
    response: obj({ removed: bool(), userName: str(), sessionsEnded: int() }),
    async handle({ principal, params, services }) {
      return ok(await services.users.remove(principal!, params.name!))
    },
  },
  {
    method: 'post',
    path: '/api/invitations',
    summary: 'Invite someone with a role: a one-time link, shown in this response only',
    description: 'expiresIn is in seconds (default 7 days, at most 30). Only an owner may invite an owner.',
    tag: 'users',
    scope: 'cli',
    role: 'admin',
    body: obj({ role, expiresIn: int({ minimum: 1, maximum: 30 * 24 * 3600, description: 'seconds until the link stops working' }) }, ['role']),
    status: 201,
    response: obj({ ...invitationView.properties, token: str({ description: 'shown only here' }), url: str({ description: 'the dashboard link that accepts it; shown only here' }) }),
    async handle({ principal, body, services, publicUrl }) {
      const b = body as { role: AccountRole; expiresIn?: number }
      const created = await services.users.invite(principal!, { role: b.role, ...(b.expiresIn !== undefined ? { expiresInSeconds: b.expiresIn } : {}) })
      return ok({ ...created, url: `${publicUrl}/#/invite/${created.token}` }, 201)
    },
  },
  {
    method: 'get',
    path: '/api/invitations',
    summary: 'List invitations and what became of them (never their tokens)',
    tag: 'users',
    scope: 'cli',
    role: 'admin',
    status: 200,
    response: obj({ invitations: arr(invitationView) }),
    async handle({ principal, services }) {
      return ok({ invitations: await services.users.listInvitations(principal!) })
    },
  },
  {
    method: 'delete',
    path: '/api/invitations/{id}',
    summary: 'Revoke a pending invitation: its link stops working',
    tag: 'users',
    scope: 'cli',
    role: 'admin',
    status: 200,
    response: invitationView,
    async handle({ principal, params, services }) {
      return ok(await services.users.revokeInvitation(principal!, params.id!))
    },
  },
  {
    method: 'post',
    path: '/api/invitations/accept',
    summary: 'Accept an invitation: create your user with your own password, signed in',
    description: `Needs no credential but the token. An unknown token is 400 invalid_invitation; a used, revoked or expired one is 410 (invitation_used, invitation_revoked, invitation_expired); a taken username is 409. The password needs at least ${MIN_PASSWORD_LENGTH} characters.`,
    tag: 'users',
    scope: 'none',
    body: obj(
      {
        token: str({ minLength: 1, maxLength: 200 }),
        username: str({ minLength: 1, maxLength: 64, pattern: '^\\S+$', description: 'letters, digits and punctuation; no spaces' }),
        password: str({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
      },
      ['token', 'username', 'password'],
    ),
    status: 201,
    async handle({ body, services, request, ip }) {
      const b = body as { token: string; username: string; password: string }
      const client = request.headers.get('user-agent')
      return ok(await services.users.accept({ ...b, ...(client ? { client } : {}), ...(ip ? { ip } : {}) }), 201)
    },
  },
]
