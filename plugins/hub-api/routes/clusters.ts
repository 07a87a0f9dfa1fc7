// clusters: named groups of nodes that stacks can target.
import { arr, int, obj, str } from '../schema.ts'
import { bad, NAME, NAME_HINT, ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

const clusterSchema = obj({ id: str(), name: str(), description: str(), nodeCount: int(), createdAt: str({ format: 'date-time' }) })

export const clusterRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/clusters',
    summary: 'List clusters',
    tag: 'clusters',
    scope: 'cli',
    role: 'viewer',
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
    role: 'operator',
    body: obj({ name: str({ pattern: NAME, description: NAME_HINT }), description: str({ maxLength: 500, 'x-multiline': true }) }, ['name']),
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
    role: 'viewer',
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
    role: 'operator',
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
    role: 'operator',
    body: obj({ node: str({ minLength: 1, maxLength: 253 }), nodeId: str({ minLength: 1, maxLength: 253 }) }),
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
    role: 'operator',
    status: 200,
    async handle({ principal, params, services }) {
      await services.fleet.removeClusterNode(principal!, params.name!, params.node!)
      return ok({ removed: true, cluster: params.name, node: params.node })
    },
  },
]
