// Every endpoint of the hub's REST API (CONTRACT §3) as data: method, path, scope, schemas and a
// handler. The same table mounts the routes and writes /api/openapi.json.
import { ThreshError } from '../../core/index.ts'
import type { AuditLog, AuthService, Principal } from '../hub-auth/index.ts'
import { MIN_PASSWORD_LENGTH } from '../hub-auth/auth-service.ts'
import type { FleetService, StackOutcome, ToolOutcome } from '../hub-fleet/index.ts'
import { arr, bool, int, obj, str, type Schema } from './schema.ts'

export type Scope = 'cli' | 'mid' | 'none'

export interface Services {
  auth: AuthService
  audit: AuditLog
  fleet: FleetService
}

export interface RouteInput {
  principal: Principal | undefined
  params: Record<string, string>
  query: Record<string, string | undefined>
  body: unknown
  services: Services
  request: Request
  ip: string | undefined
}

export interface Reply {
  status: number
  body: unknown
  /** An already serialised JSON body (hot cached reads). */
  json?: string
  headers?: Record<string, string>
}

export interface RouteDef {
  method: 'get' | 'post' | 'patch' | 'delete'
  path: string
  summary: string
  description?: string
  tag: string
  scope: Scope
  /** Needs the `owner` role (the first account's admin). */
  owner?: boolean
  body?: Schema
  /** The handler validates the body itself (stacks: every problem with its path); only "an object" is checked here. */
  bodyCheckedByHandler?: boolean
  /** Accept a request without a body (POST actions). */
  bodyOptional?: boolean
  query?: Record<string, Schema>
  maxBodyBytes?: number
  status: number
  response?: Schema
  handle(input: RouteInput): Promise<Reply>
}

const ok = (body: unknown, status = 200): Reply => ({ status, body })
const bad = (message: string) => new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message })

const NAME = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
const NAME_HINT = 'a DNS label: lowercase letters, digits and -, at most 63 characters'

const flag = (value: string | undefined, fallback = false) => {
  if (value === undefined || value === '') return fallback
  if (['1', 'true', 'yes'].includes(value.toLowerCase())) return true
  if (['0', 'false', 'no'].includes(value.toLowerCase())) return false
  throw bad(`Expected true or false, got '${value}'.`)
}

function time(value: string | undefined, name: string, fallback: Date): Date {
  if (value === undefined || value === '') return fallback
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value)
  if (Number.isNaN(date.getTime())) throw bad(`${name} must be an ISO-8601 time or epoch milliseconds, got '${value}'.`)
  return date
}

/** A stack operation's result: 202 while it runs, 200 when it succeeded, 409/504 when it did not. */
function stackReply(outcome: StackOutcome): Reply {
  const body = { ...(outcome.stack ?? {}), command: outcome.command }
  if (outcome.status === 202) return ok(body, 202)
  if (outcome.command.status === 'timeout') {
    return ok({ error: 'command_timeout', message: outcome.command.error ?? 'The node did not answer in time.', stack: outcome.stack, command: outcome.command }, 504)
  }
  if (outcome.command.status === 'error') {
    return ok({ error: 'command_failed', message: outcome.command.error ?? 'The node could not carry out the command.', stack: outcome.stack, command: outcome.command }, 409)
  }
  return ok(body)
}

function toolReply(outcome: ToolOutcome): Reply {
  if (outcome.status === 'timeout') return ok({ error: 'command_timeout', message: outcome.error ?? 'The node did not answer in time.', commandId: outcome.commandId }, 504)
  if (outcome.status === 'error') return ok({ error: 'command_failed', message: outcome.error ?? 'The node could not carry out the command.', commandId: outcome.commandId, output: outcome.output }, 409)
  return ok({ commandId: outcome.commandId, output: outcome.output, error: null })
}

const errorSchema = obj({ error: str({ example: 'not_found' }), message: str({ example: 'No node named web-1 in this account.' }), details: arr(str()) }, ['error', 'message'])
const keyView = obj({
  id: str(),
  type: str({ enum: ['agent', 'midtier'] }),
  name: str(),
  prefix: str({ description: 'the first characters of the key, never the whole key' }),
  status: str({ enum: ['active', 'expiring', 'expired', 'revoked'] }),
  createdAt: str({ format: 'date-time' }),
  revokedAt: str({ format: 'date-time', nullable: true }),
  expiresAt: str({ format: 'date-time', nullable: true }),
  rotatedTo: str({ nullable: true }),
})
const createdKey = obj({ id: str(), key: str({ description: 'the secret, shown only in this response' }), type: str(), name: str(), createdAt: str({ format: 'date-time' }) })
const nodeSchema = obj({
  id: str(),
  hostname: str(),
  platform: str(),
  status: str({ enum: ['online', 'offline'] }),
  ipAddress: str(),
  agentVersion: str(),
  connectionTier: str(),
  cluster: str({ nullable: true }),
  cpuCores: int(),
  cpuPercent: { type: 'number' },
  ramTotalGb: { type: 'number' },
  ramUsedGb: { type: 'number' },
  diskTotalGb: { type: 'number' },
  diskUsedGb: { type: 'number' },
  environmentCount: int(),
  registeredAt: str({ format: 'date-time' }),
  lastSeenAt: str({ format: 'date-time' }),
})
const lastMetricsSchema: Schema = {
  ...obj({
    timestamp: str({ format: 'date-time' }),
    cpuPercent: { type: 'number' },
    cpuPerCore: arr({ type: 'number' }),
    memoryUsedMB: { type: 'number' },
    memoryTotalMB: { type: 'number' },
    diskUsedGB: { type: 'number' },
    diskTotalGB: { type: 'number' },
    disks: arr(obj({ mount: str(), usedGB: { type: 'number' }, totalGB: { type: 'number' } })),
    containersRunning: int(),
    containers: arr(str({ description: 'container names (or {name, image, status} objects)' })),
    environmentCount: int(),
    uptimeSeconds: { type: 'number' },
  }),
  nullable: true,
}
const serviceSchema = obj({ name: str(), image: str(), ports: arr(str()), volumes: arr(str()), env: { type: 'object' }, dependsOn: arr(str()), status: str(), errorMessage: str({ nullable: true }) })
const stackSchema = obj({
  id: str(),
  name: str(),
  status: str({ enum: ['deploying', 'running', 'partial', 'stopped', 'updating', 'error'] }),
  targetNodeId: str({ nullable: true }),
  node: str({ nullable: true }),
  errorMessage: str({ nullable: true }),
  createdAt: str({ format: 'date-time' }),
  updatedAt: str({ format: 'date-time' }),
  deployedAt: str({ format: 'date-time', nullable: true }),
  services: arr(serviceSchema),
  command: obj({ id: str(), status: str(), error: str({ nullable: true }) }),
})
const clusterSchema = obj({ id: str(), name: str(), description: str(), nodeCount: int(), createdAt: str({ format: 'date-time' }) })
const waitQuery = { wait: bool({ description: 'true: answer when the node has finished (200, or 409/504 on failure); default: answer at once with 202' }) }
const stackBody: Schema = {
  type: 'object',
  description:
    'A stack definition in either form (services as a map, or a list with names), with optional targetNode or targetCluster. It is validated completely before anything is dispatched.',
  required: ['name', 'services'],
  properties: {
    name: str({ pattern: NAME, description: NAME_HINT }),
    services: { description: 'a map of name to service, or a list of services with a name', oneOf: [{ type: 'object' }, { type: 'array' }] },
    traefik: bool(),
    targetNode: str({ minLength: 1 }),
    targetCluster: str({ minLength: 1 }),
  },
}

export const routes: RouteDef[] = [
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
        password: str({ minLength: 1, maxLength: 1024 }),
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
    body: obj({ currentPassword: str({ minLength: 1, maxLength: 1024 }), newPassword: str({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }) }, ['currentPassword', 'newPassword']),
    status: 200,
    response: obj({ changed: bool(), sessionsEnded: int({ description: "the user's other sessions, now signed out" }) }),
    async handle({ principal, body, services, ip }) {
      const b = body as { currentPassword: string; newPassword: string }
      return ok(await services.auth.changePassword(principal!, { currentPassword: b.currentPassword, newPassword: b.newPassword, ...(ip ? { ip } : {}) }))
    },
  },
  {
    method: 'get',
    path: '/api/accounts',
    summary: 'List accounts (hub owner only)',
    tag: 'accounts',
    scope: 'cli',
    owner: true,
    status: 200,
    async handle({ principal, services }) {
      return ok({ accounts: await services.auth.listAccounts(principal!) })
    },
  },
  {
    method: 'post',
    path: '/api/accounts',
    summary: 'Create an account and its admin user (hub owner only)',
    description: 'The admin password is generated unless given, and returned only here.',
    tag: 'accounts',
    scope: 'cli',
    owner: true,
    body: obj({ name: str({ minLength: 1, maxLength: 100 }), adminUser: str({ minLength: 1, maxLength: 100 }), adminPassword: str({ minLength: 8, maxLength: 1024 }) }, ['name', 'adminUser']),
    status: 201,
    async handle({ principal, body, services }) {
      const b = body as { name: string; adminUser: string; adminPassword?: string }
      const created = await services.auth.createAccount(principal!, b)
      return ok({ account: created.account, userName: created.userName, password: created.password }, 201)
    },
  },
  {
    method: 'get',
    path: '/api/nodes',
    summary: 'List the nodes of the account',
    tag: 'nodes',
    scope: 'cli',
    status: 200,
    response: obj({ nodes: arr(nodeSchema) }),
    async handle({ principal, services }) {
      return { status: 200, body: undefined, json: await services.fleet.listNodesJson(principal!.accountId) }
    },
  },
  {
    method: 'get',
    path: '/api/nodes/{idOrName}',
    summary: 'One node, by id, id prefix or hostname',
    description: 'With lastMetrics: the whole last report (per-core CPU, disks, containers), or null before the first.',
    tag: 'nodes',
    scope: 'cli',
    status: 200,
    response: { ...nodeSchema, properties: { ...nodeSchema.properties, lastMetrics: lastMetricsSchema } },
    async handle({ principal, params, services }) {
      return ok(await services.fleet.getNode(principal!.accountId, params.idOrName!))
    },
  },
  {
    method: 'delete',
    path: '/api/nodes/{idOrName}',
    summary: 'Remove a node (an online node needs force=true)',
    tag: 'nodes',
    scope: 'cli',
    query: { force: bool({ description: 'remove an online node too, closing its connection' }) },
    status: 200,
    async handle({ principal, params, query, services }) {
      await services.fleet.removeNode(principal!, params.idOrName!, flag(query.force))
      return ok({ removed: true, node: params.idOrName })
    },
  },
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/metrics',
    summary: "A node's metrics between from and to (default: the last hour)",
    description: 'The resolution follows the span: raw samples, 1-minute or 15-minute averages.',
    tag: 'nodes',
    scope: 'cli',
    query: { from: str({ format: 'date-time', description: 'ISO-8601 or epoch ms' }), to: str({ format: 'date-time', description: 'ISO-8601 or epoch ms' }) },
    status: 200,
    async handle({ principal, params, query, services }) {
      const to = time(query.to, 'to', new Date())
      const from = time(query.from, 'from', new Date(to.getTime() - 3600_000))
      if (from.getTime() >= to.getTime()) throw bad('from must be earlier than to.')
      return ok(await services.fleet.nodeMetrics(principal!.accountId, params.idOrName!, from, to))
    },
  },
  {
    method: 'post',
    path: '/api/nodes/{idOrName}/up',
    summary: 'Create an environment on a node from a blueprint (create_environment)',
    tag: 'nodes',
    scope: 'cli',
    body: obj({ blueprint: str({ minLength: 1, maxLength: 200 }), name: str({ minLength: 1, maxLength: 100 }) }, ['blueprint']),
    status: 200,
    async handle({ principal, params, body, services }) {
      const b = body as { blueprint: string; name?: string }
      return toolReply(await services.fleet.runTool(principal!, params.idOrName!, 'create_environment', { blueprint: b.blueprint, ...(b.name ? { name: b.name } : {}) }, 130_000))
    },
  },
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/blueprints',
    summary: 'The blueprints a node can create environments from (list_blueprints)',
    tag: 'nodes',
    scope: 'cli',
    status: 200,
    async handle({ principal, params, services }) {
      return toolReply(await services.fleet.runTool(principal!, params.idOrName!, 'list_blueprints', {}, 30_000))
    },
  },
  {
    method: 'get',
    path: '/api/clusters',
    summary: 'List clusters',
    tag: 'clusters',
    scope: 'cli',
    status: 200,
    response: obj({ clusters: arr(clusterSchema) }),
    async handle({ principal, services }) {
      return ok({ clusters: await services.fleet.listClusters(principal!.accountId) })
    },
  },
  {
    method: 'post',
    path: '/api/clusters',
    summary: 'Create a cluster',
    tag: 'clusters',
    scope: 'cli',
    body: obj({ name: str({ pattern: NAME, description: NAME_HINT }), description: str({ maxLength: 500 }) }, ['name']),
    status: 201,
    response: clusterSchema,
    async handle({ principal, body, services }) {
      const b = body as { name: string; description?: string }
      return ok(await services.fleet.createCluster(principal!, b), 201)
    },
  },
  {
    method: 'get',
    path: '/api/clusters/{name}',
    summary: 'A cluster and its nodes',
    tag: 'clusters',
    scope: 'cli',
    status: 200,
    async handle({ principal, params, services }) {
      return ok(await services.fleet.getCluster(principal!.accountId, params.name!))
    },
  },
  {
    method: 'delete',
    path: '/api/clusters/{name}',
    summary: 'Delete a cluster (its nodes stay)',
    tag: 'clusters',
    scope: 'cli',
    status: 200,
    async handle({ principal, params, services }) {
      await services.fleet.deleteCluster(principal!, params.name!)
      return ok({ deleted: true, name: params.name })
    },
  },
  {
    method: 'post',
    path: '/api/clusters/{name}/nodes',
    summary: 'Add a node to a cluster (a node is in at most one cluster)',
    tag: 'clusters',
    scope: 'cli',
    body: obj({ node: str({ minLength: 1 }), nodeId: str({ minLength: 1 }) }),
    status: 200,
    async handle({ principal, params, body, services }) {
      const b = body as { node?: string; nodeId?: string }
      const node = b.node ?? b.nodeId
      if (!node) throw bad('node: is required')
      return ok(await services.fleet.addClusterNode(principal!, params.name!, node))
    },
  },
  {
    method: 'delete',
    path: '/api/clusters/{name}/nodes/{node}',
    summary: 'Remove a node from a cluster',
    tag: 'clusters',
    scope: 'cli',
    status: 200,
    async handle({ principal, params, services }) {
      await services.fleet.removeClusterNode(principal!, params.name!, params.node!)
      return ok({ removed: true, cluster: params.name, node: params.node })
    },
  },
  {
    method: 'post',
    path: '/api/stacks/deploy',
    summary: 'Deploy (or redeploy) a stack',
    description:
      'Validates and resolves the definition, picks the node (targetNode, else the least loaded online node of targetCluster, else of the account) and sends it deploy_stack. Follow progress with GET /api/stacks/{name}.',
    tag: 'stacks',
    scope: 'cli',
    body: stackBody,
    bodyCheckedByHandler: true,
    query: waitQuery,
    maxBodyBytes: 1024 * 1024,
    status: 202,
    response: stackSchema,
    async handle({ principal, body, query, services }) {
      return stackReply(await services.fleet.stacks.deploy(principal!, body, flag(query.wait)))
    },
  },
  {
    method: 'get',
    path: '/api/stacks',
    summary: 'List stacks',
    tag: 'stacks',
    scope: 'cli',
    status: 200,
    response: obj({ stacks: arr(stackSchema) }),
    async handle({ principal, services }) {
      return ok({ stacks: await services.fleet.stacks.list(principal!.accountId) })
    },
  },
  {
    method: 'get',
    path: '/api/stacks/{name}',
    summary: 'A stack with the status of each service',
    tag: 'stacks',
    scope: 'cli',
    status: 200,
    response: stackSchema,
    async handle({ principal, params, services }) {
      return ok(await services.fleet.stacks.get(principal!.accountId, params.name!))
    },
  },
  {
    method: 'patch',
    path: '/api/stacks/{name}/services/{svc}',
    summary: "Rolling update of one service's image",
    tag: 'stacks',
    scope: 'cli',
    body: obj({ image: str({ minLength: 1, maxLength: 500 }) }, ['image']),
    query: waitQuery,
    status: 202,
    async handle({ principal, params, body, query, services }) {
      return stackReply(await services.fleet.stacks.updateService(principal!, params.name!, params.svc!, (body as { image: string }).image, flag(query.wait)))
    },
  },
  {
    method: 'post',
    path: '/api/stacks/{name}/stop',
    summary: 'Stop a stack (volumes are kept)',
    tag: 'stacks',
    scope: 'cli',
    bodyOptional: true,
    query: waitQuery,
    status: 202,
    async handle({ principal, params, query, services }) {
      return stackReply(await services.fleet.stacks.stop(principal!, params.name!, flag(query.wait)))
    },
  },
  {
    method: 'post',
    path: '/api/stacks/{name}/start',
    summary: 'Start a stopped stack',
    tag: 'stacks',
    scope: 'cli',
    bodyOptional: true,
    query: waitQuery,
    status: 202,
    async handle({ principal, params, query, services }) {
      return stackReply(await services.fleet.stacks.start(principal!, params.name!, flag(query.wait)))
    },
  },
  {
    method: 'delete',
    path: '/api/stacks/{name}',
    summary: 'Destroy a stack: containers, network and volumes',
    tag: 'stacks',
    scope: 'cli',
    query: { ...waitQuery, force: bool({ description: "forget the stack even if its node is offline (its containers stay on that node)" }) },
    status: 202,
    async handle({ principal, params, query, services }) {
      const outcome = await services.fleet.stacks.destroy(principal!, params.name!, flag(query.wait), flag(query.force))
      if (outcome.status === 200 && (outcome.command.status === 'success' || outcome.command.status === 'skipped')) {
        return ok({ destroyed: true, name: params.name, command: outcome.command })
      }
      return stackReply(outcome)
    },
  },
  {
    method: 'get',
    path: '/api/keys',
    summary: 'List agent and mid-tier keys (never their secrets)',
    tag: 'keys',
    scope: 'cli',
    status: 200,
    response: obj({ keys: arr(keyView) }),
    async handle({ principal, services }) {
      return ok({ keys: await services.auth.listKeys(principal!.accountId) })
    },
  },
  {
    method: 'post',
    path: '/api/keys',
    summary: 'Create a key; the secret is in this response only',
    tag: 'keys',
    scope: 'cli',
    body: obj({ type: str({ enum: ['agent', 'midtier'] }), name: str({ minLength: 1, maxLength: 100 }) }, ['type', 'name']),
    status: 201,
    response: createdKey,
    async handle({ principal, body, services }) {
      return ok(await services.auth.createKey(principal!, body as { type: 'agent' | 'midtier'; name: string }), 201)
    },
  },
  {
    method: 'delete',
    path: '/api/keys/{id}',
    summary: "Revoke a key: it stops working at once and its open connections are closed",
    tag: 'keys',
    scope: 'cli',
    status: 200,
    response: keyView,
    async handle({ principal, params, services }) {
      return ok(await services.auth.revokeKey(principal!, params.id!))
    },
  },
  {
    method: 'post',
    path: '/api/keys/{id}/rotate',
    summary: 'Rotate a key: a new secret now, the old one valid for the grace period',
    tag: 'keys',
    scope: 'cli',
    bodyOptional: true,
    status: 201,
    async handle({ principal, params, services }) {
      return ok(await services.auth.rotateKey(principal!, params.id!), 201)
    },
  },
  {
    method: 'post',
    path: '/api/v1/keys/validate',
    summary: "For mid-tiers: is this agent key valid, and in the mid key's account?",
    tag: 'mid-tier',
    scope: 'mid',
    body: obj({ key: str({ maxLength: 512 }) }, ['key']),
    status: 200,
    response: obj({ valid: bool(), account_id: str({ nullable: true }), key_id: str() }),
    async handle({ principal, body, services }) {
      return ok(await services.auth.validateAgentKey(principal!, (body as { key: string }).key))
    },
  },
  {
    method: 'get',
    path: '/api/commands',
    summary: 'Recent commands sent to nodes, with status and result',
    tag: 'audit',
    scope: 'cli',
    query: { limit: int({ minimum: 1, maximum: 1000 }) },
    status: 200,
    async handle({ principal, query, services }) {
      const limit = query.limit ? Number(query.limit) : 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw bad('limit must be a whole number from 1 to 1000.')
      return ok({ commands: await services.fleet.listCommands(principal!.accountId, limit) })
    },
  },
  {
    method: 'get',
    path: '/api/commands/{id}',
    summary: 'One command with its status and result',
    tag: 'audit',
    scope: 'cli',
    status: 200,
    async handle({ principal, params, services }) {
      const command = await services.fleet.getCommand(principal!.accountId, params.id!)
      if (!command) throw new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-api', message: `No command ${params.id} in this account.` })
      return ok(command)
    },
  },
  {
    method: 'get',
    path: '/api/audit',
    summary: 'The audit log: who logged in, changed keys, deployed, updated, destroyed',
    tag: 'audit',
    scope: 'cli',
    query: { limit: int({ minimum: 1, maximum: 1000 }) },
    status: 200,
    async handle({ principal, query, services }) {
      const limit = query.limit ? Number(query.limit) : 100
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw bad('limit must be a whole number from 1 to 1000.')
      return ok({ entries: await services.audit.list(principal!.accountId, limit) })
    },
  },
]

export { errorSchema }
