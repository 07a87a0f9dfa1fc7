// images: the images on a node, removing one, and pruning the unused ones.
import { arr, bool, int, obj, str } from '../schema.ts'
import { flag } from './params.ts'
import { nameParam, nodeToolReply } from './node-tool-reply.ts'
import type { RouteDef } from './route-def.ts'

export const imageRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/images',
    summary: 'The images on the node, with how many containers use each (list_images)',
    tag: 'images',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ commandId: str(), images: arr(obj({ id: str(), tags: arr(str()), sizeMB: { type: 'number' }, createdAt: str({ format: 'date-time' }), containers: int() })) }),
    async handle({ principal, params, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.read(principal!.accountId, params.idOrName!, 'list_images'))
    },
  },
  {
    method: 'delete',
    path: '/api/nodes/{idOrName}/images/{image}',
    summary: 'Remove an image (URL-encode a name with a slash); Docker refuses one a container uses',
    tag: 'images',
    scope: 'cli',
    role: 'operator',
    query: { force: bool({ description: 'remove it even when several tags name it' }) },
    status: 200,
    response: obj({ commandId: str(), image: str(), removed: bool(), untagged: arr(str()), layersDeleted: int(), message: str() }),
    async handle({ principal, params, query, services }) {
      return nodeToolReply(await services.fleet.nodeObjects.removeImage(principal!, params.idOrName!, nameParam(params, 'image'), flag(query.force)))
    },
  },
  {
    method: 'post',
    path: '/api/nodes/{idOrName}/images/prune',
    summary: 'Remove unused images: dangling ones, or every image no container uses (all=true)',
    tag: 'images',
    scope: 'cli',
    role: 'operator',
    body: obj({ all: bool({ description: 'every unused image, not only dangling ones' }), label: str({ maxLength: 300, description: 'only images with this label (KEY or KEY=VALUE)' }) }),
    bodyOptional: true,
    status: 200,
    response: obj({ commandId: str(), untagged: arr(str()), deleted: int(), reclaimedMB: { type: 'number' }, message: str() }),
    async handle({ principal, params, body, services }) {
      const b = (body ?? {}) as { all?: boolean; label?: string }
      return nodeToolReply(await services.fleet.nodeObjects.pruneImages(principal!, params.idOrName!, { all: b.all === true, ...(b.label ? { label: b.label } : {}) }))
    },
  },
]
