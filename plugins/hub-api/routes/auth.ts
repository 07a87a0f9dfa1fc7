// auth: logging in and out, the user's sessions and password (login is the one route without a credential).
import { MIN_PASSWORD_LENGTH } from '../../hub-auth/auth-service.ts'
import { arr, bool, int, obj, str } from '../schema.ts'
import { ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

export const authRoutes: RouteDef[] = [
  {
    method: 'post',
    path: '/api/auth/login',
    summary: 'Log in with a username and password',
    description: 'Returns a thresh_cli_ token. Repeated failures for one username are throttled (429).',
    tag: 'auth',
    scope: 'none',
    body: obj(
      {
        username: str({ minLength: 1, maxLength: 200 }),
        // Compared with a hash, never stored: a tab an older password may hold still matches.
        password: str({ minLength: 1, maxLength: 1024, 'x-multiline': true }),
        expiresIn: int({ minimum: 1, description: 'ask for a shorter session, in seconds' }),
      },
      ['username', 'password'],
    ),
    status: 200,
    response: obj({
      accessToken: str(),
      expiresAt: str({ format: 'date-time' }),
      userName: str(),
      roles: arr(str()),
      mustChangePassword: bool({ description: 'true while the user still has the one-time password the hub generated: change it with POST /api/auth/password' }),
    }),
    async handle({ body, services, request, ip }) {
      const b = body as { username: string; password: string; expiresIn?: number }
      return ok(
        await services.auth.login({
          username: b.username,
          password: b.password,
          ...(b.expiresIn !== undefined ? { expiresInSeconds: b.expiresIn } : {}),
          ...(request.headers.get('user-agent') ? { client: request.headers.get('user-agent')! } : {}),
          ...(ip ? { ip } : {}),
        }),
      )
    },
  },
  {
    method: 'get',
    path: '/api/auth/sessions',
    summary: "List the user's sessions (the current one is marked)",
    tag: 'auth',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    async handle({ principal, services }) {
      const sessions = await services.auth.listSessions(principal!)
      return ok({ sessions: sessions.map((s) => ({ ...s, userName: principal!.userName, roles: principal!.roles })) })
    },
  },
  {
    method: 'delete',
    path: '/api/auth/sessions/current',
    summary: 'Log out: end the session of this token',
    tag: 'auth',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    async handle({ principal, services }) {
      await services.auth.logout(principal!)
      return ok({ loggedOut: true })
    },
  },
  {
    method: 'post',
    path: '/api/auth/password',
    summary: "Change the signed-in user's password",
    description: `The new password needs at least ${MIN_PASSWORD_LENGTH} characters (else 400 invalid_request) and must differ from the current one (else 400 weak_password); a wrong current password is 400 wrong_password, and repeated wrong ones are throttled like logins (429). This session stays valid; the user's other sessions are ended.`,
    tag: 'auth',
    scope: 'cli',
    role: 'viewer',
    body: obj({ currentPassword: str({ minLength: 1, maxLength: 1024, 'x-multiline': true }), newPassword: str({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }) }, ['currentPassword', 'newPassword']),
    status: 200,
    response: obj({ changed: bool(), sessionsEnded: int({ description: "the user's other sessions, now signed out" }) }),
    async handle({ principal, body, services, ip }) {
      const b = body as { currentPassword: string; newPassword: string }
      return ok(await services.auth.changePassword(principal!, { currentPassword: b.currentPassword, newPassword: b.newPassword, ...(ip ? { ip } : {}) }))
    },
  },
]
