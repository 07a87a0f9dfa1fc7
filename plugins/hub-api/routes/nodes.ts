// nodes: the account's nodes, their metrics, removal, and the blueprint tools run on one node.
import type { ToolOutcome } from '../../hub-fleet/index.ts'
import { arr, bool, int, obj, str, type Schema } from '../schema.ts'
import { badField, flag, ok, time } from './params.ts'
import type { Reply, RouteDef } from './route-def.ts'

function toolReply(outcome: ToolOutcome): Reply {
  if (outcome.status === 'timeout') return ok({ error: 'command_timeout', message: outcome.error ?? 'The node did not answer in time.', commandId: outcome.commandId }, 504)
  if (outcome.status === 'error') return ok({ error: 'command_failed', message: outcome.error ?? 'The node could not carry out the command.', commandId: outcome.commandId, output: outcome.output }, 409)
  return ok({ commandId: outcome.commandId, output: outcome.output, error: null })
}

const nodeSchema = obj({
  id: str(),
  hostname: str(),
  platform: str(),
  status: str({ enum: ['online', 'offline', 'reconnecting'], description: 'reconnecting: online, but the hub process holding its connection stopped (several hubs on PostgreSQL)' }),
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
    containers: arr({ description: 'running containers: {name, id, image, state, cpuPercent?, memoryMB?} (names alone from older agents)' }),
    environmentCount: int(),
    uptimeSeconds: { type: 'number' },
  }),
  nullable: true,
}

export const nodeRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/nodes',
    summary: 'List the nodes of the account',
    tag: 'nodes',
    scope: 'cli',
    role: 'viewer',
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
    role: 'viewer',
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
    role: 'operator',
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
    role: 'viewer',
    query: { from: str({ format: 'date-time', description: 'ISO-8601 or epoch ms' }), to: str({ format: 'date-time', description: 'ISO-8601 or epoch ms' }) },
    status: 200,
    async handle({ principal, params, query, services }) {
      const to = time(query.to, 'to', new Date())
      const from = time(query.from, 'from', new Date(to.getTime() - 3600_000))
      if (from.getTime() >= to.getTime()) throw badField('query.from', 'must be earlier than to')
      return ok(await services.fleet.nodeMetrics(principal!.accountId, params.idOrName!, from, to))
    },
  },
  {
    method: 'post',
    path: '/api/nodes/{idOrName}/up',
    summary: 'Create an environment on a node from a blueprint (create_environment)',
    tag: 'nodes',
    scope: 'cli',
    role: 'operator',
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
    role: 'viewer',
    status: 200,
    async handle({ principal, params, services }) {
      return toolReply(await services.fleet.runTool(principal!, params.idOrName!, 'list_blueprints', {}, 30_000))
    },
  },
]
