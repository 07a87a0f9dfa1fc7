// environments: what `thresh node up` made on a node (stacks there the hub does not manage), and removing one.
import { arr, bool, obj, str } from '../schema.ts'
import { ok } from './params.ts'
import { nameParam, nodeToolReply } from './node-tool-reply.ts'
import type { RouteDef } from './route-def.ts'

export const environmentRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/environments',
    summary: 'Environments on the node: made with `thresh node up` (stacks the hub did not deploy)',
    tag: 'environments',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ commandId: str(), environments: arr(obj({ name: str(), status: str(), services: arr(obj({ name: str(), image: str(), status: str() })) })) }),
    async handle({ principal, params, services }) {
      const listed = await services.fleet.nodeObjects.environments(principal!.accountId, params.idOrName!)
      return 'environments' in listed ? ok(listed) : nodeToolReply(listed)
    },
  },
  {
    method: 'delete',
    path: '/api/nodes/{idOrName}/environments/{environment}',
    summary: 'Remove an environment with its containers, network and volumes (a hub stack is refused: destroy it as a stack)',
    tag: 'environments',
    scope: 'cli',
    role: 'operator',
    status: 200,
    response: obj({ commandId: str(), name: str(), removed: bool(), message: str() }),
    async handle({ principal, params, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.removeEnvironment(principal!, params.idOrName!, nameParam(params, 'environment')))
    },
  },
]
