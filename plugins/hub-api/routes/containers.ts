// containers: every container on a node's Docker engine, grouped by thresh stack and Compose project,
// with live usage; start, stop, restart and remove for the ones thresh does not manage.
import type { ContainerAction } from '../../hub-fleet/index.ts'
import { arr, bool, int, obj, str, type Schema } from '../schema.ts'
import { badField, flag, ok, time } from './params.ts'
import { nameParam, nodeToolReply } from './node-tool-reply.ts'
import type { RouteDef } from './route-def.ts'

const num: Schema = { type: 'number' }
const container = obj({
  id: str(),
  name: str(),
  image: str(),
  state: str({ description: 'created, running, paused, restarting, removing, exited or dead' }),
  status: str({ description: "Docker's sentence, e.g. 'Up 5 minutes (healthy)'" }),
  health: str({ nullable: true, enum: ['starting', 'healthy', 'unhealthy', 'none'] }),
  createdAt: str({ format: 'date-time' }),
  startedAt: str({ format: 'date-time', nullable: true }),
  uptimeSeconds: int({ nullable: true }),
  restartCount: int(),
  ports: arr(str({ description: "'127.0.0.1:8080->80/tcp', or '80/tcp' when not published" })),
  group: obj({ kind: str({ enum: ['stack', 'compose', 'other'] }), name: str({ nullable: true }) }),
  managedBy: obj({ kind: str({ enum: ['stack', 'proxy'] }), name: str(), service: str() }, [], { description: 'set when thresh manages it: change it through its stack' }),
  cpuPercent: { ...num, description: 'percent of one core, as docker stats shows it' },
  memoryMB: num,
  memoryLimitMB: num,
  netRxBytes: int(),
  netTxBytes: int(),
})

const actions: ContainerAction[] = ['start', 'stop', 'restart']
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/

export const containerRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/containers',
    summary: 'Every container on the node, grouped by thresh stack and Compose project (list_containers)',
    description: 'State, health, image, uptime, restart count, ports, and CPU, memory and network from Docker stats for running ones.',
    tag: 'containers',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ commandId: str(), containers: int(), groups: arr(obj({ kind: str({ enum: ['stack', 'compose', 'other'] }), name: str({ nullable: true }), containers: arr(container) })) }),
    async handle({ principal, params, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.read(principal!.accountId, params.idOrName!, 'list_containers'))
    },
  },
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/containers/metrics',
    summary: "Each container's CPU and memory over time (default: the last hour), from the node's metrics",
    description: 'One point per container and minute, kept as long as raw samples (24 h by default); the agent measures them every containerStatsInterval (90 s by default).',
    tag: 'containers',
    scope: 'cli',
    role: 'viewer',
    query: {
      from: str({ format: 'date-time', description: 'ISO-8601 or epoch ms' }),
      to: str({ format: 'date-time', description: 'ISO-8601 or epoch ms' }),
      container: str({ description: 'one container by name' }),
    },
    status: 200,
    response: obj({ nodeId: str(), containers: arr(obj({ name: str(), points: arr(obj({ at: str({ format: 'date-time' }), cpuPercent: { ...num, nullable: true }, memoryMb: num })) })) }),
    async handle({ principal, params, query, services }) {
      const to = time(query.to, 'to', new Date())
      const from = time(query.from, 'from', new Date(to.getTime() - 3600_000))
      if (from.getTime() >= to.getTime()) throw badField('query.from', 'must be earlier than to')
      if (query.container !== undefined && !CONTAINER_NAME.test(query.container)) throw badField('query.container', 'must be a container name')
      return ok(await services.fleet.nodeObjects.containerHistory(principal!.accountId, params.idOrName!, from, to, query.container))
    },
  },
  ...actions.map(
    (action): RouteDef => ({
      method: 'post',
      path: `/api/nodes/{idOrName}/containers/{container}/${action}`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a container (refused for a thresh stack's containers: use the stack)`,
      tag: 'containers',
      scope: 'cli',
      role: 'operator',
      status: 200,
      response: obj({ commandId: str(), container: str(), id: str(), action: str(), state: str(), message: str() }),
      async handle({ principal, params, services }) {
        return nodeToolReply(await services.fleet.nodeObjects.containerAction(principal!, params.idOrName!, nameParam(params, 'container'), action, false))
      },
    }),
  ),
  {
    method: 'delete',
    path: '/api/nodes/{idOrName}/containers/{container}',
    summary: "Remove a container (refused for a thresh stack's containers: use the stack)",
    tag: 'containers',
    scope: 'cli',
    role: 'operator',
    query: { force: bool({ description: 'remove a running container too (it is killed)' }) },
    status: 200,
    response: obj({ commandId: str(), container: str(), id: str(), removed: bool(), message: str() }),
    async handle({ principal, params, query, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.containerAction(principal!, params.idOrName!, nameParam(params, 'container'), 'remove', flag(query.force)))
    },
  },
]
