// The hub's credentials and API edge against a real hub process on the embedded store: the scope
// matrix over every endpoint and hub with every kind of credential, logins and throttling, sessions,
// key rotation and revocation (a revoked agent is disconnected), account isolation, every documented
// error status, the OpenAPI document and docs page, and that no secret reaches the log.
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { routes } from '../../plugins/hub-api/routes/index.ts'
import { ADMIN_PASSWORD, connectAgent, eventually, startHub, type TestAgent, type TestHub } from './support.ts'

let hub: TestHub
let admin: string
const agents: TestAgent[] = []
const secrets: string[] = [ADMIN_PASSWORD]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const METRICS_TOKEN = 'scrape-token-for-the-api-tests'

beforeAll(async () => {
  hub = await startHub({ storage: 'embedded', config: { metricsToken: METRICS_TOKEN } })
  admin = await hub.login()
  secrets.push(admin)
}, 90_000)

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => {})
  await hub?.stop()
})

async function createKey(token: string, type: 'agent' | 'midtier', name: string): Promise<{ id: string; key: string }> {
  const reply = await hub.request('POST', '/api/keys', { token, body: { type, name } })
  expect(reply.status).toBe(201)
  secrets.push(reply.body.key)
  return reply.body
}

const passwords = new Map<string, string>()

async function otherAccount(name: string, adminUser: string): Promise<string> {
  const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name, adminUser } })
  expect(created.status).toBe(201)
  secrets.push(created.body.password)
  passwords.set(adminUser, created.body.password)
  return hub.login(adminUser, created.body.password)
}

type Kind = 'none' | 'bad' | 'expired' | 'revoked' | 'live' | 'mid' | 'other-cli' | 'cli'

describe('credentials and scopes', () => {
  it('answers every endpoint and hub with 401, 403 or access according to the credential kind', async () => {
    const expiring = await hub.login('admin', ADMIN_PASSWORD, { expiresIn: 1 })
    const live = await createKey(admin, 'agent', 'matrix-live')
    const mid = await createKey(admin, 'midtier', 'matrix-mid')
    const revoked = await createKey(admin, 'agent', 'matrix-revoked')
    expect((await hub.request('DELETE', `/api/keys/${revoked.id}`, { token: admin })).status).toBe(200)
    const other = await otherAccount('matrix-other', 'matrix-other-admin')
    await sleep(1200)

    const credentials: Record<Kind, string | undefined> = {
      none: undefined,
      bad: 'thresh_cli_nope_0123456789abcdef0123456789abcdef',
      expired: expiring,
      revoked: revoked.key,
      live: live.key,
      mid: mid.key,
      'other-cli': other,
      cli: admin,
    }
    const endpoints: Array<{ method: string; path: string; scope: 'cli' | 'mid' | 'live' | 'none'; hubOwner?: boolean }> = [
      // An open event stream never ends: a bad cursor is answered at once, after the credential checks.
      ...routes.map((r) => ({
        method: r.method.toUpperCase(),
        path: r.path.replace(/\{\w+\}/g, 'no-such-thing') + (r.path === '/api/events/stream' ? '?after=x' : ''),
        scope: r.scope,
        ...(r.hubOwner ? { hubOwner: true } : {}),
      })),
      { method: 'POST', path: '/api/agent/register', scope: 'live' },
      { method: 'POST', path: '/api/agent/metrics', scope: 'live' },
      { method: 'POST', path: '/api/agent/status', scope: 'live' },
      { method: 'GET', path: '/api/agent/commands', scope: 'live' },
      { method: 'POST', path: '/api/agent/commands/no-such-thing/result', scope: 'live' },
      { method: 'POST', path: '/agenthub/negotiate?negotiateVersion=1', scope: 'live' },
      { method: 'POST', path: '/midtierhub/negotiate?negotiateVersion=1', scope: 'mid' },
      { method: 'POST', path: '/dashboardhub/negotiate?negotiateVersion=1', scope: 'cli' },
    ]
    const expected = (endpoint: (typeof endpoints)[number], kind: Kind): 'allowed' | 401 | 403 => {
      if (endpoint.scope === 'none') return 'allowed'
      if (kind === 'none' || kind === 'bad' || kind === 'expired' || kind === 'revoked') return 401
      const scopeOf: Record<string, string> = { live: 'live', mid: 'mid', cli: 'cli', 'other-cli': 'cli' }
      if (scopeOf[kind] !== endpoint.scope) return 403
      if (endpoint.hubOwner && kind === 'other-cli') return 403
      return 'allowed'
    }

    const mismatches: string[] = []
    for (const endpoint of endpoints) {
      for (const kind of Object.keys(credentials) as Kind[]) {
        let token = credentials[kind]
        // Logging out would end the session the rest of the matrix uses.
        if (endpoint.path === '/api/auth/sessions/current' && kind === 'cli') token = await hub.login()
        if (endpoint.path === '/api/auth/sessions/current' && kind === 'other-cli') token = await hub.login('matrix-other-admin', passwords.get('matrix-other-admin'))
        const reply = await hub.request(endpoint.method, endpoint.path, { ...(token ? { token } : {}), headers: { 'x-agent-id': 'matrix-agent' } })
        const want = expected(endpoint, kind)
        const got = reply.status
        const fine = want === 'allowed' ? got !== 401 && got !== 403 : got === want
        if (!fine) mismatches.push(`${endpoint.method} ${endpoint.path} with ${kind}: expected ${want}, got ${got} ${JSON.stringify(reply.body)}`)
        if ((got === 401 || got === 403) && !endpoint.path.includes('negotiate')) {
          if (typeof reply.body?.error !== 'string' || typeof reply.body?.message !== 'string') mismatches.push(`${endpoint.method} ${endpoint.path} with ${kind}: no {error, message} body`)
        }
      }
    }
    expect(mismatches).toEqual([])
  })

  it('logs in with a password, lists sessions with the current one marked, and logs out for good', async () => {
    const token = await hub.login()
    const sessions = await hub.request('GET', '/api/auth/sessions', { token })
    expect(sessions.status).toBe(200)
    const current = sessions.body.sessions.filter((s: { current: boolean }) => s.current)
    expect(current).toHaveLength(1)
    expect(current[0]).toMatchObject({ userName: 'admin', roles: ['owner', 'hub-owner'] })
    const login = await hub.request('POST', '/api/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })
    expect(login.body).toMatchObject({ userName: 'admin', roles: ['owner', 'hub-owner'], role: 'owner' })
    expect(login.body.accessToken).toMatch(/^thresh_cli_[a-z0-9]+_[0-9a-f]{48}$/)
    expect(Date.parse(login.body.expiresAt)).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000)
    secrets.push(login.body.accessToken)
    expect((await hub.request('DELETE', '/api/auth/sessions/current', { token })).status).toBe(200)
    const after = await hub.request('GET', '/api/nodes', { token })
    expect(after.status).toBe(401)
    expect(after.body.error).toBe('unauthorized')
    expect((await hub.request('GET', '/api/nodes', { token: login.body.accessToken })).status).toBe(200)
  })

  it('throttles repeated failed logins with 429 and Retry-After, even for the right password', async () => {
    const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name: 'throttled', adminUser: 'throttle-user', adminPassword: 'the-right-password' } })
    expect(created.status).toBe(201)
    for (let i = 0; i < 5; i++) {
      const wrong = await hub.request('POST', '/api/auth/login', { body: { username: 'throttle-user', password: `wrong-${i}` } })
      expect(wrong.status).toBe(401)
      expect(wrong.body).toEqual({ error: 'unauthorized', message: 'Wrong username or password.' })
    }
    const locked = await hub.request('POST', '/api/auth/login', { body: { username: 'throttle-user', password: 'the-right-password' } })
    expect(locked.status).toBe(429)
    expect(locked.body.error).toBe('too_many_attempts')
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    const unknown = await hub.request('POST', '/api/auth/login', { body: { username: 'nobody-at-all', password: 'x' } })
    expect(unknown.status).toBe(401)
    expect(unknown.body.message).toBe('Wrong username or password.')
  })

  /** A login sent from one loopback address (127.0.0.x), as a second machine would. */
  function loginFrom(localAddress: string, username: string, password: string, headers: Record<string, string> = {}): Promise<number> {
    const url = new URL(`${hub.url}/api/auth/login`)
    const body = JSON.stringify({ username, password })
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode!))
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it('counts parallel guesses before they are checked: of 40 at once, at most 5 are tried and the rest get 429', async () => {
    const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name: 'parallel', adminUser: 'parallel-user', adminPassword: 'the-right-password' } })
    expect(created.status).toBe(201)
    const statuses = await Promise.all([
      ...Array.from({ length: 39 }, (_, i) => loginFrom('127.0.0.3', 'parallel-user', `wrong-${i}`)),
      loginFrom('127.0.0.3', 'parallel-user', 'the-right-password'),
    ])
    expect(statuses.filter((s) => s === 401 || s === 200).length).toBeLessThanOrEqual(5)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35)
  })

  it('ignores a forged X-Forwarded-For, and a stranger guessing from elsewhere does not lock the owner out', async () => {
    const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name: 'lockout', adminUser: 'lockout-user', adminPassword: 'the-right-password' } })
    expect(created.status).toBe(201)
    const guesses: number[] = []
    for (let i = 0; i < 8; i++) guesses.push(await loginFrom('127.0.0.4', 'lockout-user', `wrong-${i}`, { 'x-forwarded-for': `10.9.8.${i}` }))
    expect(guesses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(guesses.slice(5)).toEqual([429, 429, 429])
    // The owner, from their own machine, still gets in.
    expect(await loginFrom('127.0.0.5', 'lockout-user', 'the-right-password')).toBe(200)
  })

  it('asks a user with a generated password to change it; the change ends their other sessions and the old password', async () => {
    expect((await hub.request('POST', '/api/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).body.mustChangePassword).toBe(false)
    const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name: 'first-run', adminUser: 'first-run-admin' } })
    const oneTime: string = created.body.password
    secrets.push(oneTime)
    const first = await hub.request('POST', '/api/auth/login', { body: { username: 'first-run-admin', password: oneTime } })
    expect(first.body.mustChangePassword).toBe(true)
    const token: string = first.body.accessToken
    const elsewhere = await hub.login('first-run-admin', oneTime)
    const change = (body: unknown, t: string | null = token) => hub.request('POST', '/api/auth/password', { ...(t ? { token: t } : {}), body })

    expect((await change({ currentPassword: oneTime, newPassword: 'x'.repeat(20) }, null)).status).toBe(401)
    const live = await createKey(token, 'agent', 'password-live')
    expect((await change({ currentPassword: oneTime, newPassword: 'x'.repeat(20) }, live.key)).status).toBe(403)
    const short = await change({ currentPassword: oneTime, newPassword: 'short' })
    expect(short.status).toBe(400)
    expect(short.body.message).toBe('Invalid request: newPassword: must not be shorter than 12 characters.')
    const wrong = await change({ currentPassword: 'not-it', newPassword: 'a-long-new-password' })
    expect(wrong.status).toBe(400)
    expect(wrong.body).toEqual({ error: 'wrong_password', message: 'The current password is not right.' })
    const same = await change({ currentPassword: oneTime, newPassword: oneTime })
    expect(same.body.error).toBe('weak_password')

    const done = await change({ currentPassword: oneTime, newPassword: 'a-long-new-password' })
    expect(done.status).toBe(200)
    expect(done.body).toEqual({ changed: true, sessionsEnded: 1 })
    expect((await hub.request('GET', '/api/nodes', { token })).status).toBe(200)
    expect((await hub.request('GET', '/api/nodes', { token: elsewhere })).status).toBe(401)
    expect((await hub.request('POST', '/api/auth/login', { body: { username: 'first-run-admin', password: oneTime } })).status).toBe(401)
    const again = await hub.request('POST', '/api/auth/login', { body: { username: 'first-run-admin', password: 'a-long-new-password' } })
    expect(again.body.mustChangePassword).toBe(false)
    const audit = await hub.request('GET', '/api/audit', { token })
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['password.change', 'password.change-failed']))
  })

  it('shows a key once, lists keys without secrets, and a revoked key stops working and its agent is disconnected', async () => {
    const key = await createKey(admin, 'agent', 'to-revoke')
    expect(key).toMatchObject({ type: 'agent', name: 'to-revoke' })
    expect(key.key).toMatch(/^thresh_live_[a-z0-9]+_[0-9a-f]{48}$/)
    const listed = await hub.request('GET', '/api/keys', { token: admin })
    const entry = listed.body.keys.find((k: { id: string }) => k.id === key.id)
    expect(entry).toMatchObject({ status: 'active', name: 'to-revoke' })
    expect(JSON.stringify(listed.body)).not.toContain(key.key)
    expect(key.key.startsWith(entry.prefix.replace('…', ''))).toBe(true)

    const agent = await connectAgent(hub, key.key, 'revoked-node')
    agents.push(agent)
    const states: string[] = []
    agent.client.onStateChange((state) => states.push(state))
    await eventually(async () => (await hub.request('GET', '/api/nodes/revoked-node', { token: admin })).body?.status === 'online', 5000, 'the agent to register')

    const revokedAt = Date.now()
    const revoked = await hub.request('DELETE', `/api/keys/${key.id}`, { token: admin })
    expect(revoked.body).toMatchObject({ id: key.id, status: 'revoked' })
    await eventually(async () => states.some((s) => s !== 'connected'), 10_000, 'the revoked agent to be disconnected')
    expect(Date.now() - revokedAt).toBeLessThan(60_000)
    await eventually(async () => (await hub.request('GET', '/api/nodes/revoked-node', { token: admin })).body?.status === 'offline', 10_000, 'the node to go offline')
    const rest = await hub.request('POST', '/api/agent/register', { token: key.key, body: { agentId: 'x' } })
    expect(rest.status).toBe(401)
    expect(rest.body.message).toContain('revoked')
    const audit = await hub.request('GET', '/api/audit', { token: admin })
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['key.create', 'key.revoke', 'login']))
  })

  it('rotates a key: the new one works at once, the old one until the grace period ends, then its agent is cut off', async () => {
    const old = await createKey(admin, 'agent', 'to-rotate')
    const agent = await connectAgent(hub, old.key, 'rotating-node')
    agents.push(agent)
    const states: string[] = []
    agent.client.onStateChange((state) => states.push(state))
    const rotated = await hub.request('POST', `/api/keys/${old.id}/rotate`, { token: admin })
    expect(rotated.status).toBe(201)
    secrets.push(rotated.body.key)
    expect(rotated.body).toMatchObject({ type: 'agent', name: 'to-rotate', previousKeyId: old.id })
    expect(rotated.body.key).not.toBe(old.key)
    const register = (key: string) => hub.request('POST', '/api/agent/register', { token: key, body: { agentId: `rest-${key.slice(-6)}`, hostname: 'rest-node' } })
    expect((await register(old.key)).status).toBe(200)
    expect((await register(rotated.body.key)).status).toBe(200)
    const keys = (await hub.request('GET', '/api/keys', { token: admin })).body.keys
    expect(keys.find((k: { id: string }) => k.id === old.id)).toMatchObject({ status: 'expiring', rotatedTo: rotated.body.id })
    expect((await hub.request('POST', `/api/keys/${old.id}/rotate`, { token: admin })).status).toBe(409)

    // keyRotationGrace is 2 s in these tests.
    await eventually(async () => (await register(old.key)).status === 401, 8000, 'the old key to expire')
    expect((await register(rotated.body.key)).status).toBe(200)
    await eventually(async () => states.some((s) => s !== 'connected'), 8000, 'the agent on the expired key to be disconnected')
  })
})

describe('accounts', () => {
  it('isolate nodes, clusters, stacks and keys', async () => {
    const other = await otherAccount('isolated', 'isolated-admin')
    const mine = await createKey(admin, 'agent', 'isolation-mine')
    const agent = await connectAgent(hub, mine.key, 'isolated-node')
    agents.push(agent)
    await eventually(async () => (await hub.request('GET', '/api/nodes/isolated-node', { token: admin })).status === 200, 5000, 'the node')

    expect((await hub.request('GET', '/api/nodes/isolated-node', { token: other })).status).toBe(404)
    expect((await hub.request('GET', `/api/nodes/${agent.agentId}`, { token: other })).status).toBe(404)
    expect((await hub.request('GET', '/api/nodes', { token: other })).body.nodes).toEqual([])
    expect((await hub.request('GET', '/api/keys', { token: other })).body.keys).toEqual([])
    expect((await hub.request('DELETE', `/api/keys/${mine.id}`, { token: other })).status).toBe(404)
    expect((await hub.request('POST', `/api/keys/${mine.id}/rotate`, { token: other })).status).toBe(404)

    expect((await hub.request('POST', '/api/clusters', { token: admin, body: { name: 'shared-name' } })).status).toBe(201)
    expect((await hub.request('POST', '/api/clusters', { token: other, body: { name: 'shared-name' } })).status).toBe(201)
    expect((await hub.request('POST', '/api/clusters/shared-name/nodes', { token: other, body: { node: 'isolated-node' } })).status).toBe(404)
    const deploy = await hub.request('POST', '/api/stacks/deploy', { token: other, body: { name: 'web', targetNode: 'isolated-node', services: { web: { image: 'nginx' } } } })
    expect(deploy.status).toBe(404)
    expect((await hub.request('GET', '/api/audit', { token: other })).body.entries.every((e: { actor: string }) => e.actor !== 'admin')).toBe(true)

    // A mid-tier of the other account cannot vouch for this account's agent key.
    const otherMid = await createKey(other, 'midtier', 'other-mid')
    expect((await hub.request('POST', '/api/v1/keys/validate', { token: otherMid.key, body: { key: mine.key } })).body).toEqual({ valid: false, account_id: null })
    expect((await hub.request('GET', '/api/accounts', { token: other })).status).toBe(403)
    const accounts = await hub.request('GET', '/api/accounts', { token: admin })
    expect(accounts.body.accounts.map((a: { name: string }) => a.name)).toContain('isolated')
  })
})

describe('the API edge', () => {
  it('answers bad input, unknown things, conflicts and oversized bodies with the documented statuses and {error, message}', async () => {
    const invalidJson = await hub.request('POST', '/api/keys', { token: admin, raw: '{"type":' })
    expect(invalidJson.status).toBe(400)
    expect(invalidJson.body).toMatchObject({ error: 'invalid_json' })
    const schema = await hub.request('POST', '/api/keys', { token: admin, body: { type: 'robot', extra: 1 } })
    expect(schema.status).toBe(400)
    expect(schema.body.error).toBe('invalid_request')
    expect(schema.body.details).toEqual(expect.arrayContaining(['name: is required', 'type: must be one of agent, midtier', 'extra: is not a known field']))
    const stack = await hub.request('POST', '/api/stacks/deploy', { token: admin, body: { name: 'Bad Name', services: { a: { image: '' } } } })
    expect(stack.status).toBe(400)
    expect(stack.body.error).toBe('stack_invalid')
    expect(stack.body.details.length).toBeGreaterThanOrEqual(2)
    const cycle = await hub.request('POST', '/api/stacks/deploy', { token: admin, body: { name: 'loop', services: { a: { image: 'x', depends_on: ['b'] }, b: { image: 'x', depends_on: ['a'] } } } })
    expect(cycle.body.message).toContain('Circular dependency detected: a → b → a')
    const badTime = await hub.request('GET', '/api/nodes/x/metrics?from=yesterday', { token: admin })
    expect(badTime.status).toBe(400)

    expect((await hub.request('GET', '/api/nodes/nope', { token: admin })).body).toMatchObject({ error: 'not_found' })
    expect((await hub.request('GET', '/api/stacks/nope', { token: admin })).status).toBe(404)
    expect((await hub.request('GET', '/api/no-such-route', { token: admin })).body).toMatchObject({ error: 'not_found' })

    expect((await hub.request('POST', '/api/clusters', { token: admin, body: { name: 'twice' } })).status).toBe(201)
    const twice = await hub.request('POST', '/api/clusters', { token: admin, body: { name: 'twice' } })
    expect(twice.status).toBe(409)
    expect(twice.body.error).toBe('conflict')
    const empty = await otherAccount('no-nodes', 'no-nodes-admin')
    const noNode = await hub.request('POST', '/api/stacks/deploy', { token: empty, body: { name: 'nowhere', services: { a: { image: 'x' } } } })
    expect(noNode.status).toBe(409)
    expect(noNode.body).toMatchObject({ error: 'no_online_node', message: "No online node to deploy 'nowhere' to: connect an agent first." })

    const big = await hub.request('POST', '/api/keys', { token: admin, raw: JSON.stringify({ type: 'agent', name: 'x'.repeat(70 * 1024) }) })
    expect(big.status).toBe(413)
    expect(big.body.error).toBe('payload_too_large')
    const bigStack = await hub.request('POST', '/api/stacks/deploy', { token: admin, raw: JSON.stringify({ name: 'big', services: { a: { image: 'x', env: { PAD: 'y'.repeat(1100 * 1024) } } } }) })
    expect(bigStack.status).toBe(413)
  })

  it('publishes an OpenAPI document of every route and a readable docs page with no external assets', async () => {
    const doc = await hub.request('GET', '/api/openapi.json')
    expect(doc.status).toBe(200)
    expect(doc.body.openapi).toBe('3.1.0')
    for (const route of routes) expect(doc.body.paths[route.path]?.[route.method], `${route.method} ${route.path}`).toBeDefined()
    expect(doc.body.paths['/api/keys'].post.requestBody.content['application/json'].schema.required).toEqual(['type', 'name'])
    expect(doc.body.paths['/api/auth/password'].post.requestBody.content['application/json'].schema.properties.newPassword.minLength).toBe(12)
    const page = await hub.request('GET', '/api/docs')
    expect(page.headers.get('content-type')).toContain('text/html')
    const html = page.body as string
    expect(html).toContain('/api/stacks/deploy')
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/)
    const metrics = (await hub.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body as string
    for (const gauge of ['hub_nodes_online', 'hub_stacks_running', 'hub_commands_in_flight', 'hub_metrics_ingest_rate']) expect(metrics).toMatch(new RegExp(`^${gauge} \\d`, 'm'))
  })

  it('never writes a key, token or password to its log', async () => {
    await sleep(200)
    const log = hub.proc.output()
    for (const secret of secrets) expect(log).not.toContain(secret)
  })
})
