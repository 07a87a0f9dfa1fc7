// The hub-auth plugin: the first account and admin, login sessions, agent and mid-tier keys, and the
// `auth` service every hub route and SignalR hub asks who a bearer credential is.
import { definePlugin } from '../../core/index.ts'
import '../../lib/storage/index.ts'
import type { AuditRecord } from '../../lib/storage/types.ts'
import { createAuthService, type AuditWriter, type AuthService } from './auth-service.ts'

export { actorOf, MIN_PASSWORD_LENGTH, viewKey } from './auth-service.ts'
export type { CredentialKind } from './secrets.ts'
export type { AuthService, CreatedKey, KeyView, LoginResult, Principal } from './auth-service.ts'

export interface AuditLog {
  record: AuditWriter
  list(accountId: string, limit: number): Promise<AuditRecord[]>
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    auth: AuthService
    audit: AuditLog
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

const num = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback)

export default definePlugin((options: HubAuthOptions = {}) => ({
  name: 'hub-auth',
  requires: ['storage'],
  provides: ['auth', 'audit'],
  async setup(ctx) {
    const merged = { ...options, ...(ctx.options as HubAuthOptions) }
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
        sessionTtlMs: num(ctx.config.sessionTtl, 7 * 24 * 3600_000),
        rotationGraceMs: num(ctx.config.keyRotationGrace, 24 * 3600_000),
        loginMaxFailures: num(merged.loginMaxFailures, 5),
        loginWindowMs: num(merged.loginWindowMs, 60_000),
        cacheMs: num(merged.cacheMs, 5_000),
      },
      {
        audit: audit.record,
        keyRevoked: (accountId, keyId, reason) => ctx.bus.emit('auth:key-revoked', { accountId, keyId, reason }),
      },
    )
    ctx.provide('auth', auth)
    ctx.provide('audit', audit)

    const adminUser = typeof ctx.config.adminUser === 'string' && ctx.config.adminUser ? ctx.config.adminUser : 'admin'
    const adminPassword = typeof ctx.config.adminPassword === 'string' && ctx.config.adminPassword ? ctx.config.adminPassword : undefined
    const boot = await auth.bootstrap({ adminUser, ...(adminPassword ? { adminPassword } : {}) })
    if (boot.created && boot.generated) {
      // The one secret thresh ever prints: shown once, on the first start, so the owner can log in.
      ctx.logger.box(
        [
          `Created the first account and its admin user '${boot.userName}'.`,
          `One-time password: ${boot.password}`,
          `Log in with: thresh auth login --hub <this hub> --username ${boot.userName}`,
          'It is not shown again (set THRESH_ADMIN_PASSWORD on first start to choose it).',
        ].join('\n'),
      )
    } else if (boot.created) {
      ctx.logger.info(`Created the first account and its admin user '${boot.userName}' with the password from THRESH_ADMIN_PASSWORD.`)
    }
  },
}))
