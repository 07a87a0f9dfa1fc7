// The hub-auth plugin: the first account and admin, login sessions, agent and mid-tier keys, the
// `auth` service every hub route and SignalR hub asks who a bearer credential is, and `users`.
import { defineFields, definePlugin } from '../../core/index.ts'
import '../../lib/storage/index.ts'
import type { AuditRecord } from '../../lib/storage/types.ts'
import { createAuthService, MIN_PASSWORD_LENGTH, type AuditWriter, type AuthService } from './auth-service.ts'
import { createUsersService, type UsersService } from './users-service.ts'

export { actorOf, MIN_PASSWORD_LENGTH, viewKey } from './auth-service.ts'
export type { CredentialKind } from './secrets.ts'
export type { AuthService, CreatedKey, KeyView, LoginResult, Principal } from './auth-service.ts'
export type { InvitationView, UsersService, UserView } from './users-service.ts'

export interface AuditLog {
  record: AuditWriter
  list(accountId: string, limit: number): Promise<AuditRecord[]>
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    auth: AuthService
    audit: AuditLog
    users: UsersService
  }
  interface ThreshEvents {
    'auth:key-revoked': { accountId: string; keyId: string; reason: string }
  }
}

export interface HubAuthOptions {
  loginMaxFailures?: number
  loginWindowMs?: number
  cacheMs?: number
}

export const hubAuthFields = defineFields({
  adminUser: { type: 'string', description: 'name of the admin user created on first start', default: 'admin', pattern: /^\S{1,64}$/, expected: 'a user name of 1 to 64 characters without spaces' },
  adminPassword: {
    type: 'string',
    description: 'password of that admin user (default: generated and printed once)',
    secret: true,
    pattern: new RegExp(`^.{${MIN_PASSWORD_LENGTH},}$`, 's'),
    expected: `a password of at least ${MIN_PASSWORD_LENGTH} characters`,
  },
  sessionTtl: { type: 'duration', description: 'how long a login session lasts', default: 7 * 24 * 3600_000, min: 60_000 },
  keyRotationGrace: { type: 'duration', description: 'how long a rotated key keeps working', default: 24 * 3600_000 },
})

export default definePlugin((options: HubAuthOptions = {}) => ({
  name: 'hub-auth',
  requires: ['storage'],
  provides: ['auth', 'audit', 'users'],
  config: hubAuthFields,
  async setup(ctx) {
    const { settings } = ctx
    const store = ctx.use('storage')
    const audit: AuditLog = {
      async record(entry) {
        await store.appendAudit({ at: new Date().toISOString(), ...entry })
      },
      list: (accountId, limit) => store.listAudit(accountId, { limit }),
    }
    const auth = createAuthService(
      store,
      {
        sessionTtlMs: settings.sessionTtl,
        rotationGraceMs: settings.keyRotationGrace,
        loginMaxFailures: options.loginMaxFailures ?? 5,
        loginWindowMs: options.loginWindowMs ?? 60_000,
        cacheMs: options.cacheMs ?? 5_000,
      },
      {
        audit: audit.record,
        keyRevoked: (accountId, keyId, reason) => ctx.bus.emit('auth:key-revoked', { accountId, keyId, reason }),
      },
    )
    ctx.provide('auth', auth)
    ctx.provide('audit', audit)
    ctx.provide('users', createUsersService(store, auth, audit.record))

    // The first admin is made once the hub holds its port: a first start that cannot listen creates
    // nothing, so the next start still prints the one-time password.
    ctx.hooks.hook('server:listening', async () => {
      const { adminUser, adminPassword } = settings
      const boot = await auth.bootstrap({ adminUser, ...(adminPassword ? { adminPassword } : {}) })
      if (boot.created && boot.generated) {
        // The one secret thresh ever prints: shown once, on the first start, so the owner can log in.
        ctx.logger.box(
          [
            `Created the first account and its admin user '${boot.userName}'.`,
            `One-time password: ${boot.password}`,
            `Log in with: thresh auth login --hub <this hub> --username ${boot.userName}`,
            'It is not shown again (set THRESH_ADMIN_PASSWORD on first start to choose it);',
            'lost it? On this machine: thresh admin reset-password',
          ].join('\n'),
        )
      } else if (boot.created) {
        ctx.logger.info(`Created the first account and its admin user '${boot.userName}' with the password from THRESH_ADMIN_PASSWORD.`)
      }
    })
  },
}))
