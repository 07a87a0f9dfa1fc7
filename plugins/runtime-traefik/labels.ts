// Traefik v3 Docker-provider labels for a routed service (https://doc.traefik.io/traefik/routing/providers/docker/).
import { objectPrefix, routedPort, routeRule, type PlannedService, type StackPlan } from '../../lib/stack/index.ts'

export { routeRule }

/** Router and service names are `<stack>-<svc>`, lowercased, with anything unsafe turned into '-'. */
export function routerName(plan: Pick<StackPlan, 'name' | 'account'>, service: Pick<PlannedService, 'name'>): string {
  return `${objectPrefix(plan.name, plan.account)}-${service.name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-')
}

export function traefikLabels(plan: StackPlan, service: PlannedService): Record<string, string> {
  const name = routerName(plan, service)
  const port = routedPort(service)
  if (port === undefined) return {}
  return {
    'traefik.enable': 'true',
    'traefik.docker.network': plan.objects.network.name,
    [`traefik.http.routers.${name}.rule`]: routeRule(plan, service),
    [`traefik.http.routers.${name}.entrypoints`]: 'web,websecure',
    [`traefik.http.routers.${name}.service`]: name,
    [`traefik.http.services.${name}.loadbalancer.server.port`]: String(port),
  }
}
