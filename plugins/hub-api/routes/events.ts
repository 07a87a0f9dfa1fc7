// events: what happened in the fleet, newest first (nodes, mid-tiers, containers, stacks, keys, alerts).
import { ThreshError } from '../../../core/index.ts'
import { arr, int, obj, str } from '../schema.ts'
import { limit, ok, time } from './params.ts'
import type { RouteDef, Services } from './route-def.ts'

export const eventSchema = obj({
  id: str(),
  at: str({ format: 'date-time' }),
  kind: str({ description: 'node_online, node_reconnect, node_offline, node_removed, midtier_connected, midtier_disconnected, container_start, container_die, container_oom, container_health, container_restart_loop, stack_deployed, stack_updated, stack_rollback, stack_failed, stack_destroyed, key_revoked, alert_firing, alert_resolved' }),
  severity: str({ enum: ['info', 'warning', 'critical'] }),
  nodeId: str(),
  stack: str(),
  message: str(),
  details: { type: 'object', additionalProperties: true },
})

/** The alerts service, or a 503 on a hub that runs without the hub-alerts plugin. */
export function alertsOf(services: Services) {
  if (!services.alerts) throw new ThreshError({ code: 'alerts_unavailable', status: 503, plugin: 'hub-api', message: 'This hub runs without the hub-alerts plugin.' })
  return services.alerts
}

export const eventRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/events',
    summary: 'Fleet events, newest first',
    description:
      'Paged with `before` (the last id of the previous page); `after` returns newer events oldest first, for following. `node` takes a node id or host name.',
    tag: 'events',
    scope: 'cli',
    role: 'viewer',
    query: {
      node: str(),
      stack: str(),
      since: str({ description: 'ISO-8601 time or epoch ms' }),
      kind: str({ description: 'comma-separated kinds' }),
      before: str({ pattern: '^[0-9]{1,19}$' }),
      after: str({ pattern: '^[0-9]{1,19}$' }),
      limit: int({ minimum: 1, maximum: 1000 }),
    },
    status: 200,
    response: obj({ events: arr(eventSchema), next: str({ nullable: true, description: 'the `before` of the next page' }) }),
    async handle({ principal, query, services }) {
      const accountId = principal!.accountId
      for (const name of ['before', 'after'] as const) {
        if (query[name] !== undefined && !/^[0-9]{1,19}$/.test(query[name]!)) throw new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message: `${name} must be an event id.` })
      }
      let nodeId: string | undefined
      if (query.node) {
        const node = await services.fleet.getNode(accountId, query.node).catch(() => undefined)
        nodeId = (node as { id?: string } | undefined)?.id ?? query.node
      }
      const max = limit(query.limit)
      const events = await alertsOf(services).listEvents(accountId, {
        ...(nodeId ? { nodeId } : {}),
        ...(query.stack ? { stack: query.stack } : {}),
        ...(query.since ? { since: time(query.since, 'since', new Date(0)).toISOString() } : {}),
        ...(query.kind ? { kinds: query.kind.split(',').map((k) => k.trim()).filter(Boolean) } : {}),
        ...(query.before ? { before: query.before } : {}),
        ...(query.after ? { after: query.after } : {}),
        limit: max,
      })
      const next = query.after === undefined && events.length === max ? events.at(-1)!.id : null
      return ok({ events, next })
    },
  },
]
