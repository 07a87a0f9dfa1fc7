// volumes: the volumes on a node and which containers use them; removing an unused one.
import { arr, bool, obj, str } from '../schema.ts'
import { nameParam, nodeToolReply } from './node-tool-reply.ts'
import type { RouteDef } from './route-def.ts'

export const volumeRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/volumes',
    summary: 'The volumes on the node, with the containers using each (list_volumes)',
    tag: 'volumes',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ commandId: str(), volumes: arr(obj({ name: str(), driver: str(), createdAt: str({ nullable: true }), containers: arr(str()), managedBy: obj({ kind: str(), name: str() }) })) }),
    async handle({ principal, params, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.read(principal!.accountId, params.idOrName!, 'list_volumes'))
    },
  },
  {
    method: 'delete',
    path: '/api/nodes/{idOrName}/volumes/{volume}',
    summary: "Remove an unused volume (one in use, or a thresh stack's, is refused)",
    tag: 'volumes',
    scope: 'cli',
    role: 'operator',
    status: 200,
    response: obj({ commandId: str(), volume: str(), removed: bool(), message: str() }),
    async handle({ principal, params, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.removeVolume(principal!, params.idOrName!, nameParam(params, 'volume')))
    },
  },
]
