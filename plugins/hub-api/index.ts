// The hub-api plugin: mounts the REST API of CONTRACT §3 from the route table (auth per route, body
// limits, schema validation) and serves /api/openapi.json and the /api/docs page made from it.
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { compress } from 'hono/compress'
import { defineFields, definePlugin, isThreshError, ThreshError, version as threshVersion } from '../../core/index.ts'
import { accountRoleOf, hasRole, isHubOwner, type AccountRole } from '../../lib/auth/roles.ts'
import type { Principal } from '../../lib/auth/principal.ts'
import { docsPage, openApiDocument } from './openapi.ts'
import { routes, type RouteDef, type Services } from './routes/index.ts'
import { childPath, MAX_JSON_DEPTH, scanJson } from '../../lib/stack/json-guard.ts'
import { str, validate } from './schema.ts'
import { ensureFleetCa, issueServingCert } from '../../lib/tls.ts'
import type { FleetCaService } from './routes/route-def.ts'

export { routes } from './routes/index.ts'
export type { RouteDef, Scope } from './routes/index.ts'

export interface HubApiOptions {
  /** Largest request body, in bytes, where a route sets none (default 64 KiB). */
  maxBodyBytes?: number
  version?: string
}

function bearerOf(c: Context): string | undefined {
  const header = c.req.header('authorization')
  if (!header) return undefined
  const match = /^bearer\s+(.+)$/i.exec(header.trim())
  return match ? match[1]!.trim() : undefined
}

/**
 * The caller's address. X-Forwarded-For is anyone's to write, so it counts only behind a proxy the
 * owner runs (`trustProxy`), and then only its last entry: the one that proxy added.
 */
function clientIp(c: Context, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined
  if (forwarded) return forwarded
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming
  return incoming?.socket?.remoteAddress
}

const invalid = (problems: string[]) =>
  new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message: `Invalid request: ${problems.join('; ')}.`, details: problems })

// Every path parameter and query value is one line of text: a name, an id, a time, a number.
const urlText = str({ maxLength: 512 })

/** Problems with the path parameters and query string, each named `path.<param>` or `query.<name>`. */
function urlProblems(params: Record<string, string>, query: Record<string, string>): string[] {
  const problems: string[] = []
  for (const [where, values] of [['path', params], ['query', query]] as const) {
    for (const [name, value] of Object.entries(values)) {
      const at = childPath(where, name)
      const keyProblems = validate(urlText, name, at)
      problems.push(...(keyProblems.length > 0 ? keyProblems : validate(urlText, value, at)))
    }
  }
  return problems
}

const ROLE_TEXT: Record<AccountRole, string> = {
  viewer: 'the viewer role',
  operator: 'the operator role (or admin or owner)',
  admin: 'the admin role (or owner)',
  owner: 'the owner role',
}

/** 403 unless the user holds the route's role (and is the hub owner where the route says so). */
function checkRole(route: RouteDef, principal: Principal | undefined): void {
  if (route.scope !== 'cli' || !principal) return
  const forbidden = (message: string) => new ThreshError({ code: 'forbidden', status: 403, plugin: 'hub-api', message })
  if (route.role && !hasRole(principal.roles, route.role)) {
    throw forbidden(`This needs ${ROLE_TEXT[route.role]}; you are ${accountRoleOf(principal.roles)} in this account.`)
  }
  if (route.hubOwner && !isHubOwner(principal.roles)) throw forbidden('Only the hub owner may do this.')
}

const acceptsGzip = (c: Context) => /\bgzip\b/i.test(c.req.header('accept-encoding') ?? '')

/**
 * Gzip of the hot pre-serialised bodies (`GET /api/nodes`: ~700 KB for 1,000 nodes), made once per
 * body rather than once per request; keyed by the string itself, which the fleet caches for a second.
 */
function createGzipCache(size = 32) {
  const cache = new Map<string, Promise<Uint8Array>>()
  return (text: string): Promise<Uint8Array> => {
    let hit = cache.get(text)
    if (!hit) {
      hit = new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer().then((b) => new Uint8Array(b))
      cache.set(text, hit)
      hit.catch(() => cache.delete(text))
      if (cache.size > size) cache.delete(cache.keys().next().value as string)
    }
    return hit
  }
}

/** An error the API answers with its own status and sentence: bad input and the like, or a dependency down (503). */
function answerable(error: unknown): ThreshError | undefined {
  if (isThreshError(error) && (error.status < 500 || error.status === 503)) return error
  // A storage error (stores throw their own `storage_unavailable`) wrapped by the code that hit it.
  const cause = (error as { cause?: unknown } | null)?.cause
  return isThreshError(cause) && cause.status === 503 ? cause : undefined
}

function errorReply(c: Context, error: ThreshError) {
  const body: Record<string, unknown> = { error: error.code, message: error.message }
  if (Array.isArray(error.details)) body.details = error.details
  const retry = (error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds
  if (error.status === 429 && retry) c.header('Retry-After', String(retry))
  return c.json(body, error.status as 400)
}

export const hubApiFields = defineFields({
  publicUrl: {
    type: 'url',
    description: 'the address people reach the hub at, for links it hands out (invitations): set it behind a reverse proxy',
  },
  trustProxy: {
    type: 'boolean',
    description: 'take client addresses (login throttling, audit) from X-Forwarded-For: only behind a reverse proxy you run',
    default: false,
  },
})

export default definePlugin((options: HubApiOptions = {}) => ({
  name: 'hub-api',
  requires: ['auth', 'audit', 'fleet', 'users'],
  config: hubApiFields,
  async setup(ctx) {
    const app = ctx.server.app
    const defaultLimit = options.maxBodyBytes ?? 64 * 1024
    // The fleet CA lives with the hub: made on first start, pinned by every client, signs mid-tiers' certificates.
    const ca = await ensureFleetCa(ctx.dataDir)
    const fleetCa: FleetCaService = {
      fingerprint: ca.fingerprint,
      certificate: ca.cert,
      issue: (names, days) => issueServingCert(ca, names, { days }),
    }
    const services = (): Services => ({ auth: ctx.use('auth'), audit: ctx.use('audit'), fleet: ctx.use('fleet'), users: ctx.use('users'), fleetCa, ...(ctx.has('alerts') ? { alerts: ctx.use('alerts') } : {}) })
    const version = options.version ?? threshVersion

    // JSON over CompressionStream (Node >= 18 and Deno alike); bodies under 1 KiB are sent as they are.
    app.use('/api/*', compress())
    const gzipped = createGzipCache()

    const document = openApiDocument(routes, version)
    const page = docsPage(routes, version)
    app.get('/api/openapi.json', (c) => c.json(document))
    app.get('/api/docs', (c) => c.html(page))

    // Fail closed: a user route without a role would be open to every viewer.
    const roleless = routes.filter((r) => r.scope === 'cli' && !r.role).map((r) => `${r.method.toUpperCase()} ${r.path}`)
    if (roleless.length > 0) throw new ThreshError({ code: 'route_without_role', plugin: 'hub-api', message: `Routes without a role: ${roleless.join(', ')}.` })

    for (const route of routes) {
      const path = route.path.replace(/\{(\w+)\}/g, ':$1')
      const limit = route.maxBodyBytes ?? defaultLimit
      const limiter = bodyLimit({
        maxSize: limit,
        onError: (c) => c.json({ error: 'payload_too_large', message: `The request body is larger than ${limit} bytes.` }, 413),
      })
      app.on(route.method.toUpperCase(), path, limiter, async (c) => {
        try {
          const svc = services()
          const principal = route.scope === 'none' ? undefined : await svc.auth.authenticate(bearerOf(c), route.scope)
          checkRole(route, principal)
          const params = c.req.param() as Record<string, string>
          const query = c.req.query()
          const badUrl = urlProblems(params, query)
          if (badUrl.length > 0) throw invalid(badUrl)
          let body: unknown
          if (route.body) {
            const text = await c.req.text()
            if (text.trim() === '') {
              if (!route.bodyOptional) throw new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message: 'The request needs a JSON body.' })
            } else {
              try {
                body = JSON.parse(text)
              } catch {
                throw new ThreshError({ code: 'invalid_json', status: 400, plugin: 'hub-api', message: 'The request body is not valid JSON.' })
              }
              // Before any reader recurses into it: depth (at most MAX_JSON_DEPTH), prototype keys, control characters.
              const hostile = scanJson(body, { maxDepth: MAX_JSON_DEPTH })
              if (hostile.length > 0) throw invalid(hostile.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)))
              const problems = validate(route.bodyCheckedByHandler ? { type: 'object' } : route.body, body)
              if (problems.length > 0) throw invalid(problems)
            }
          }
          const reply = await route.handle({
            principal,
            params,
            query,
            body,
            services: svc,
            request: c.req.raw,
            ip: clientIp(c, ctx.settings.trustProxy),
            publicUrl: ctx.settings.publicUrl ?? new URL(c.req.url).origin,
          })
          for (const [name, value] of Object.entries(reply.headers ?? {})) c.header(name, value)
          if (reply.text !== undefined) return c.body(reply.text, reply.status as 200)
          if (reply.json !== undefined) {
            if (reply.json.length < 1024 || !acceptsGzip(c)) return c.body(reply.json, reply.status as 200, { 'content-type': 'application/json', vary: 'Accept-Encoding' })
            const body = await gzipped(reply.json)
            return c.body(body as Uint8Array<ArrayBuffer>, reply.status as 200, { 'content-type': 'application/json', 'content-encoding': 'gzip', vary: 'Accept-Encoding' })
          }
          return c.json(reply.body as object, reply.status as 200)
        } catch (error) {
          const known = answerable(error)
          if (known) return errorReply(c, known)
          throw error
        }
      })
    }
  },
}))
