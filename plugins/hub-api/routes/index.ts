// Every endpoint of the hub's REST API (CONTRACT §3), one file per OpenAPI tag, in the order
// /api/openapi.json and the /api/docs page list them.
import { accountRoutes } from './accounts.ts'
import { alertRoutes } from './alerts.ts'
import { auditRoutes } from './audit.ts'
import { authRoutes } from './auth.ts'
import { clusterRoutes } from './clusters.ts'
import { containerRoutes } from './containers.ts'
import { environmentRoutes } from './environments.ts'
import { fleetCaRoutes } from './fleet-ca.ts'
import { imageRoutes } from './images.ts'
import { eventRoutes } from './events.ts'
import { keyRoutes } from './keys.ts'
import { midTierRoutes } from './mid-tier.ts'
import { nodeRoutes } from './nodes.ts'
import type { RouteDef } from './route-def.ts'
import { stackRoutes } from './stacks.ts'
import { userRoutes } from './users.ts'
import { volumeRoutes } from './volumes.ts'

export type { Reply, RouteDef, RouteInput, Scope, Services } from './route-def.ts'

export const routes: RouteDef[] = [
  ...authRoutes,
  ...accountRoutes,
  ...nodeRoutes,
  ...containerRoutes,
  ...imageRoutes,
  ...volumeRoutes,
  ...environmentRoutes,
  ...clusterRoutes,
  ...stackRoutes,
  ...keyRoutes,
  ...userRoutes,
  ...midTierRoutes,
  ...auditRoutes,
  ...fleetCaRoutes,
  ...eventRoutes,
  ...alertRoutes,
]
