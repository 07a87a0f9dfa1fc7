// Accounts, users, sessions and keys: who a bearer credential is, what it may reach, and the
// lifecycle of every credential (created and shown once, listed, revoked, rotated with a grace).
import { ThreshError } from '../../core/index.ts'
import { isKeyActive } from '../../lib/storage/keys.ts'
import type { AccountRecord, FleetStore, KeyRecord, KeyType, SessionRecord, UserRecord } from '../../lib/storage/types.ts'
import { actorOf, type CredentialKind, type Principal } from '../../lib/auth/principal.ts'
import { accountRoleOf, HUB_OWNER, isHubOwner, type AccountRole } from '../../lib/auth/roles.ts'
export { actorOf, type Principal } from '../../lib/auth/principal.ts'
import { burnPasswordCheck, hashPassword, newCredential, newId, newPassword, parseCredential, sameDigest, sha256, verifyPassword } from './secrets.ts'
import { createThrottle } from './throttle.ts'

export interface AuthOptions {
  sessionTtlMs: number
  rotationGraceMs: number
  loginMaxFailures: number
  loginWindowMs: number
  /** How long a looked-up credential is trusted before the store is asked again. */
  cacheMs: number
}

export interface AuditWriter {
  (entry: { accountId: string; actor: string; action: string; target: string; details?: Record<string, unknown> }): Promise<void>
}

export interface KeyView {
  id: string
  type: KeyType
  name: string
  prefix: string
  status: 'active' | 'expiring' | 'expired' | 'revoked'
  createdAt: string
  revokedAt: string | null
  expiresAt: string | null
  rotatedTo: string | null
}

export interface CreatedKey {
  id: string
  key: string
  type: KeyType
  name: string
  createdAt: string
}

export interface LoginResult {
  accessToken: string
  expiresAt: string
  userName: string
  roles: string[]
  /** The user's role in their account. */
  role: AccountRole
  /** True until a user created with a generated one-time password has chosen their own. */
  mustChangePassword: boolean
}

/** The rule for a password a person chooses (the generated ones are longer). */
export const MIN_PASSWORD_LENGTH = 12

export interface AuthService {
  /** Throws 401 for a missing/unknown/expired/revoked credential, 403 for one of another scope. */
  authenticate(bearer: string | undefined, scope: CredentialKind | readonly CredentialKind[]): Promise<Principal>
  login(input: { username: string; password: string; expiresInSeconds?: number; client?: string; ip?: string }): Promise<LoginResult>
  listSessions(principal: Principal): Promise<Array<{ id: string; current: boolean; createdAt: string; expiresAt: string; lastUsedAt: string | null; client: string | null }>>
  logout(principal: Principal): Promise<void>
  /**
   * Replaces the signed-in user's password. The current session stays valid; every other session of
   * the user is ended (whoever else knew the old password is signed out).
   */
  changePassword(principal: Principal, input: { currentPassword: string; newPassword: string; ip?: string }): Promise<{ changed: true; sessionsEnded: number }>
  createKey(principal: Principal, input: { type: KeyType; name: string }): Promise<CreatedKey>
  listKeys(accountId: string): Promise<KeyView[]>
  revokeKey(principal: Principal, id: string): Promise<KeyView>
  rotateKey(principal: Principal, id: string): Promise<CreatedKey & { previousKeyId: string; previousKeyExpiresAt: string }>
  /** For mid-tiers: is this agent key valid, and in the mid key's account? */
  validateAgentKey(principal: Principal, key: string): Promise<{ valid: boolean; account_id: string | null; key_id?: string }>
  /** Is this key still usable now (for sweeping open connections)? */
  keyIsActive(keyId: string, accountId: string): Promise<boolean>
  /** Drops what is cached of this user's sessions, so a role change or removal counts from the next request. */
  forgetUser(userId: string): void
  /** Is this CLI principal's session still usable now (not logged out, expired, or ended by a password change)? */
  sessionIsActive(principal: Principal): Promise<boolean>
  createAccount(principal: Principal, input: { name: string; adminUser: string; adminPassword?: string }): Promise<{ account: AccountRecord; userName: string; password: string }>
  listAccounts(principal: Principal): Promise<AccountRecord[]>
  /** Creates the first account and admin on a hub with no users; returns the one-time password. */
  bootstrap(input: { adminUser: string; adminPassword?: string }): Promise<{ created: boolean; userName: string; password?: string; generated: boolean }>
  /** A new one-time password for a user (to change at next login); their sessions end. For `thresh admin reset-password`. */
  resetPassword(userName: string): Promise<{ userName: string; password: string; sessionsEnded: number }>
}

const unauthorized = (message: string) => new ThreshError({ code: 'unauthorized', status: 401, plugin: 'hub-auth', message })
/** 429 from the login throttle, for logins and password changes alike. */
const tooManyAttempts = (what: string, waitMs: number) =>
  new ThreshError({
    code: 'too_many_attempts',
    status: 429,
    plugin: 'hub-auth',
    message: `Too many ${what}; try again in ${Math.ceil(waitMs / 1000)} s.`,
    details: { retryAfterSeconds: Math.ceil(waitMs / 1000) },
  })
const forbidden = (message: string) => new ThreshError({ code: 'forbidden', status: 403, plugin: 'hub-auth', message })
const notFound = (message: string) => new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-auth', message })
const badPassword = (code: string, message: string) => new ThreshError({ code, status: 400, plugin: 'hub-auth', message })

const KIND_OF_TYPE: Record<KeyType, CredentialKind> = { agent: 'live', midtier: 'mid' }
const SCOPE_NAMES: Record<CredentialKind, string> = {
  cli: 'a CLI token (thresh_cli_…)',
  live: 'an agent key (thresh_live_…)',
  mid: 'a mid-tier key (thresh_mid_…)',
}

function keyStatus(key: KeyRecord, now = new Date()): KeyView['status'] {
  if (key.revokedAt) return 'revoked'
  if (key.revokeAfter) return isKeyActive(key, now) ? 'expiring' : 'expired'
  return 'active'
}

export function viewKey(key: KeyRecord): KeyView {
  return {
    id: key.id,
    type: key.type,
    name: key.name,
    prefix: key.prefix,
    status: keyStatus(key),
    createdAt: key.createdAt,
    revokedAt: key.revokedAt ?? null,
    expiresAt: key.revokeAfter ?? null,
    rotatedTo: key.rotatedTo ?? null,
  }
}

export function createAuthService(
  store: FleetStore,
  options: AuthOptions,
  hooks: { audit: AuditWriter; keyRevoked(accountId: string, keyId: string, reason: string): void },
): AuthService {
  const throttle = createThrottle({ maxFailures: options.loginMaxFailures, windowMs: options.loginWindowMs })
  const cache = new Map<string, { at: number; key?: KeyRecord; session?: SessionRecord; user?: UserRecord }>()
  const forget = (hash: string) => cache.delete(hash)
  const forgetKey = (id: string) => {
    for (const [hash, entry] of cache) if (entry.key?.id === id) cache.delete(hash)
  }

  async function lookup(kind: CredentialKind, hash: string) {
    const cached = cache.get(hash)
    if (cached && Date.now() - cached.at < options.cacheMs) return cached
    let entry: { at: number; key?: KeyRecord; session?: SessionRecord; user?: UserRecord }
    if (kind === 'cli') {
      const session = await store.findSessionByHash(hash)
      const user = session ? await store.getUser(session.accountId, session.userId) : undefined
      entry = { at: Date.now(), ...(session ? { session } : {}), ...(user ? { user } : {}) }
    } else {
      const key = await store.findKeyByHash(hash)
      entry = { at: Date.now(), ...(key ? { key } : {}) }
    }
    cache.set(hash, entry)
    if (cache.size > 50_000) cache.delete(cache.keys().next().value as string)
    return entry
  }

  const service: AuthService = {
    async authenticate(bearer, scope) {
      const scopes = typeof scope === 'string' ? [scope] : scope
      if (!bearer) throw unauthorized('A credential is required: send Authorization: Bearer <token>.')
      const parsed = parseCredential(bearer)
      if (!parsed) throw unauthorized('The credential is not a thresh key or token.')
      const hash = sha256(bearer)
      const entry = await lookup(parsed.kind, hash)
      let principal: Principal
      if (parsed.kind === 'cli') {
        const { session, user } = entry
        if (!session || !user || !sameDigest(session.tokenHash, hash) || session.accountId !== parsed.accountId) {
          throw unauthorized('The token is unknown or has been logged out.')
        }
        if (session.revokedAt) throw unauthorized('The token has been logged out.')
        if (Date.parse(session.expiresAt) <= Date.now()) throw unauthorized('The token has expired; log in again.')
        principal = { kind: 'cli', accountId: session.accountId, userId: user.id, sessionId: session.id, userName: user.username, roles: user.roles }
        const now = Date.now()
        if (!session.lastUsedAt || now - Date.parse(session.lastUsedAt) > 60_000) {
          // At most one write a minute per session, off the request path.
          session.lastUsedAt = new Date(now).toISOString()
          void store.touchSession(session.accountId, session.id, session.lastUsedAt).catch(() => {})
        }
      } else {
        const { key } = entry
        if (!key || !sameDigest(key.keyHash, hash) || key.accountId !== parsed.accountId || KIND_OF_TYPE[key.type] !== parsed.kind) {
          throw unauthorized('The key is unknown.')
        }
        const status = keyStatus(key)
        if (status === 'revoked') throw unauthorized('The key has been revoked.')
        if (status === 'expired') throw unauthorized('The key has expired (it was rotated).')
        principal = { kind: parsed.kind, accountId: key.accountId, keyId: key.id, roles: [] }
      }
      if (!scopes.includes(principal.kind)) {
        throw forbidden(`This endpoint needs ${scopes.map((s) => SCOPE_NAMES[s]).join(' or ')}, not ${SCOPE_NAMES[principal.kind]}.`)
      }
      return principal
    },

    async login({ username, password, expiresInSeconds, client, ip }) {
      const wait = throttle.retryAfter(username, ip)
      if (wait > 0) throw tooManyAttempts('failed logins', wait)
      const attempt = throttle.begin(username, ip)
      let ok = false
      let user: UserRecord | undefined
      try {
        user = await store.findUserByName(username)
        ok = user ? await verifyPassword(password, user.passwordHash) : (await burnPasswordCheck(password), false)
      } finally {
        attempt.done(ok)
      }
      if (!user || !ok) {
        if (user) await hooks.audit({ accountId: user.accountId, actor: username, action: 'login.failed', target: `user:${username}` })
        throw unauthorized('Wrong username or password.')
      }
      const ttl = Math.min(options.sessionTtlMs, expiresInSeconds !== undefined ? expiresInSeconds * 1000 : Infinity)
      const credential = newCredential('cli', user.accountId)
      const now = new Date()
      const session: SessionRecord = {
        id: newId(),
        accountId: user.accountId,
        userId: user.id,
        tokenHash: credential.hash,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ttl).toISOString(),
        ...(client ? { userAgent: client.slice(0, 200) } : {}),
        ...(ip ? { ip } : {}),
      }
      await store.createSession(session)
      await hooks.audit({ accountId: user.accountId, actor: username, action: 'login', target: `user:${username}`, details: { sessionId: session.id } })
      return {
        accessToken: credential.token,
        expiresAt: session.expiresAt,
        userName: user.username,
        roles: user.roles,
        role: accountRoleOf(user.roles),
        mustChangePassword: user.mustChangePassword === true,
      }
    },

    async listSessions(principal) {
      const sessions = await store.listSessions(principal.accountId, principal.userId!)
      const now = Date.now()
      return sessions
        .filter((s) => !s.revokedAt && Date.parse(s.expiresAt) > now)
        .map((s) => ({
          id: s.id,
          current: s.id === principal.sessionId,
          createdAt: s.createdAt,
          expiresAt: s.expiresAt,
          lastUsedAt: s.lastUsedAt ?? null,
          client: s.userAgent ?? null,
        }))
    },

    async logout(principal) {
      const sessions = await store.listSessions(principal.accountId, principal.userId!)
      const current = sessions.find((s) => s.id === principal.sessionId)
      await store.revokeSession(principal.accountId, principal.sessionId!, new Date().toISOString())
      if (current) forget(current.tokenHash)
      await hooks.audit({ accountId: principal.accountId, actor: principal.userName ?? '', action: 'logout', target: `session:${principal.sessionId}` })
    },

    async changePassword(principal, { currentPassword, newPassword: next, ip }) {
      if (principal.kind !== 'cli' || !principal.userId) throw forbidden('Only a signed-in user can change their password.')
      const user = await store.getUser(principal.accountId, principal.userId)
      if (!user) throw unauthorized('The user of this token no longer exists.')
      // A stolen token must not become a way to guess the password: the login throttle applies here too.
      const wait = throttle.retryAfter(user.username, ip)
      if (wait > 0) throw tooManyAttempts('wrong passwords', wait)
      const attempt = throttle.begin(user.username, ip)
      let ok = false
      try {
        ok = await verifyPassword(currentPassword, user.passwordHash)
      } finally {
        attempt.done(ok)
      }
      if (!ok) {
        await hooks.audit({ accountId: user.accountId, actor: user.username, action: 'password.change-failed', target: `user:${user.username}` })
        throw badPassword('wrong_password', 'The current password is not right.')
      }
      if (next.length < MIN_PASSWORD_LENGTH) throw badPassword('weak_password', `The new password must have at least ${MIN_PASSWORD_LENGTH} characters.`)
      if (next === currentPassword) throw badPassword('weak_password', 'The new password must differ from the current one.')
      await store.updateUser(user.accountId, user.id, { passwordHash: await hashPassword(next), mustChangePassword: false })
      const now = new Date().toISOString()
      let sessionsEnded = 0
      for (const s of await store.listSessions(user.accountId, user.id)) {
        if (s.id === principal.sessionId || s.revokedAt || Date.parse(s.expiresAt) <= Date.now()) continue
        await store.revokeSession(user.accountId, s.id, now)
        forget(s.tokenHash)
        sessionsEnded++
      }
      // The cached entry of this session holds the old user record (mustChangePassword).
      for (const [hash, entry] of cache) if (entry.user?.id === user.id) cache.delete(hash)
      await hooks.audit({ accountId: user.accountId, actor: user.username, action: 'password.change', target: `user:${user.username}`, details: { sessionsEnded } })
      return { changed: true, sessionsEnded }
    },

    async createKey(principal, { type, name }) {
      const credential = newCredential(KIND_OF_TYPE[type], principal.accountId)
      const record: KeyRecord = {
        id: newId(),
        accountId: principal.accountId,
        type,
        name,
        keyHash: credential.hash,
        prefix: credential.prefix,
        createdAt: new Date().toISOString(),
      }
      await store.createKey(record)
      await hooks.audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'key.create', target: `key:${record.id}`, details: { type, name } })
      return { id: record.id, key: credential.token, type, name, createdAt: record.createdAt }
    },

    async listKeys(accountId) {
      const keys = await store.listKeys(accountId)
      return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(viewKey)
    },

    async revokeKey(principal, id) {
      const key = await store.getKey(principal.accountId, id)
      if (!key) throw notFound(`No key with id ${id} in this account.`)
      if (!key.revokedAt) {
        key.revokedAt = new Date().toISOString()
        await store.updateKey(principal.accountId, id, { revokedAt: key.revokedAt })
        forgetKey(id)
        await hooks.audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'key.revoke', target: `key:${id}`, details: { name: key.name } })
        hooks.keyRevoked(principal.accountId, id, `The key '${key.name}' was revoked.`)
      }
      return viewKey(key)
    },

    async rotateKey(principal, id) {
      const key = await store.getKey(principal.accountId, id)
      if (!key) throw notFound(`No key with id ${id} in this account.`)
      const status = keyStatus(key)
      if (status === 'revoked' || status === 'expired') {
        throw new ThreshError({ code: 'conflict', status: 409, plugin: 'hub-auth', message: `Key ${id} is ${status}; create a new key instead.` })
      }
      if (key.rotatedTo) {
        throw new ThreshError({ code: 'conflict', status: 409, plugin: 'hub-auth', message: `Key ${id} was already rotated to ${key.rotatedTo}; rotate that key instead.` })
      }
      const credential = newCredential(KIND_OF_TYPE[key.type], principal.accountId)
      const next: KeyRecord = {
        id: newId(),
        accountId: principal.accountId,
        type: key.type,
        name: key.name,
        keyHash: credential.hash,
        prefix: credential.prefix,
        createdAt: new Date().toISOString(),
      }
      const expiresAt = new Date(Date.now() + options.rotationGraceMs).toISOString()
      if (!(await store.rotateKey(principal.accountId, id, next, expiresAt))) throw notFound(`No key with id ${id} in this account.`)
      forgetKey(id)
      const created: CreatedKey = { id: next.id, key: credential.token, type: next.type, name: next.name, createdAt: next.createdAt }
      await hooks.audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'key.rotate', target: `key:${id}`, details: { newKeyId: created.id, oldKeyExpiresAt: expiresAt } })
      return { ...created, previousKeyId: id, previousKeyExpiresAt: expiresAt }
    },

    async validateAgentKey(principal, key) {
      try {
        const agent = await service.authenticate(key, 'live')
        if (agent.accountId !== principal.accountId) return { valid: false, account_id: null }
        return { valid: true, account_id: agent.accountId, key_id: agent.keyId! }
      } catch {
        return { valid: false, account_id: null }
      }
    },

    async keyIsActive(keyId, accountId) {
      const key = await store.getKey(accountId, keyId)
      return key !== undefined && isKeyActive(key)
    },

    forgetUser(userId) {
      for (const [hash, entry] of cache) if (entry.user?.id === userId || entry.session?.userId === userId) cache.delete(hash)
    },

    async sessionIsActive(principal) {
      if (principal.kind !== 'cli' || !principal.userId || !principal.sessionId) return false
      const session = (await store.listSessions(principal.accountId, principal.userId)).find((s) => s.id === principal.sessionId)
      return session !== undefined && !session.revokedAt && Date.parse(session.expiresAt) > Date.now()
    },

    async createAccount(principal, { name, adminUser, adminPassword }) {
      if (!isHubOwner(principal.roles)) throw forbidden('Only the hub owner may create accounts.')
      if (await store.findUserByName(adminUser)) {
        throw new ThreshError({ code: 'conflict', status: 409, plugin: 'hub-auth', message: `A user named '${adminUser}' already exists.` })
      }
      const account: AccountRecord = { id: newId(), name, createdAt: new Date().toISOString() }
      const password = adminPassword ?? newPassword()
      await store.createAccount(account)
      await store.createUser({
        id: newId(),
        accountId: account.id,
        username: adminUser,
        passwordHash: await hashPassword(password),
        mustChangePassword: adminPassword === undefined,
        // The one user of a new account owns it: nobody else could ever manage its owners.
        roles: ['owner'],
        createdAt: account.createdAt,
      })
      await hooks.audit({ accountId: principal.accountId, actor: actorOf(principal), action: 'account.create', target: `account:${account.id}`, details: { name, adminUser } })
      return { account, userName: adminUser, password }
    },

    async listAccounts(principal) {
      if (!isHubOwner(principal.roles)) throw forbidden('Only the hub owner may list accounts.')
      return store.listAccounts()
    },

    async resetPassword(userName) {
      const user = await store.findUserByName(userName)
      if (!user) {
        if ((await store.countUsers()) === 0) {
          throw notFound('This hub has no users yet: start it (thresh run --role hub) and it prints the first admin\'s one-time password.')
        }
        throw notFound(`No user named '${userName}' on this hub; name one with --user.`)
      }
      const password = newPassword()
      await store.updateUser(user.accountId, user.id, { passwordHash: await hashPassword(password), mustChangePassword: true })
      const now = new Date().toISOString()
      let sessionsEnded = 0
      for (const s of await store.listSessions(user.accountId, user.id)) {
        if (s.revokedAt || Date.parse(s.expiresAt) <= Date.now()) continue
        await store.revokeSession(user.accountId, s.id, now)
        forget(s.tokenHash)
        sessionsEnded++
      }
      for (const [hash, entry] of cache) if (entry.user?.id === user.id) cache.delete(hash)
      await hooks.audit({ accountId: user.accountId, actor: 'system', action: 'password.reset', target: `user:${user.username}` })
      return { userName: user.username, password, sessionsEnded }
    },
    async bootstrap({ adminUser, adminPassword }) {
      if ((await store.countUsers()) > 0) return { created: false, userName: adminUser, generated: false }
      const password = adminPassword ?? newPassword()
      const now = new Date().toISOString()
      const account: AccountRecord = { id: newId(), name: 'default', createdAt: now }
      try {
        await store.createAccount(account)
        await store.createUser({ id: newId(), accountId: account.id, username: adminUser, passwordHash: await hashPassword(password), mustChangePassword: adminPassword === undefined, roles: ['owner', HUB_OWNER], createdAt: now })
      } catch (cause) {
        // Another hub on the same database bootstrapped first.
        if ((await store.countUsers()) > 0) return { created: false, userName: adminUser, generated: false }
        throw cause
      }
      await hooks.audit({ accountId: account.id, actor: 'system', action: 'account.bootstrap', target: `user:${adminUser}` })
      return { created: true, userName: adminUser, password, generated: adminPassword === undefined }
    },
  }
  return service
}
