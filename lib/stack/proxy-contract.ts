// How a stack runtime hands routed services to a reverse proxy, the rule forms every proxy accepts,
// and the services proxy plugins provide: runtime and proxy plugins depend on this, never on each other.
import type { PlannedService, StackPlan } from './plan.ts'
import type { ProgressEvent } from './runtime-contract.ts'

/** The reverse proxies a stack may choose (`proxy: caddy|traefik`; `traefik: true` means Traefik). */
export const PROXY_KINDS = ['traefik', 'caddy'] as const
export type ProxyKind = (typeof PROXY_KINDS)[number]

/**
 * A routed service's rule in Traefik's syntax, the form every proxy translates: `route` as written when
 * it is already a rule (`Host(...)`, `PathPrefix(...)`), a path prefix when it starts with '/', a host
 * name otherwise; by default `Host(<svc>.<stack>.localhost)`.
 */
export function routeRule(plan: Pick<StackPlan, 'name'>, service: Pick<PlannedService, 'name' | 'route'>): string {
  const route = service.route?.trim()
  if (!route) return `Host(\`${service.name}.${plan.name}.localhost\`)`
  if (/^[A-Za-z]+\(/.test(route)) return route
  if (route.startsWith('/')) return `PathPrefix(\`${route}\`)`
  return `Host(\`${route}\`)`
}

/** The container port a proxy forwards to: the first published mapping's, else the first exposed TCP port. */
export function routedPort(service: Pick<PlannedService, 'ports' | 'expose'>): number | undefined {
  if (service.ports[0]) return service.ports[0].container
  const exposed = service.expose?.find((e) => e.endsWith('/tcp'))
  return exposed ? Number.parseInt(exposed, 10) : undefined
}

/** Routed through a proxy: asked for (`traefik`, `proxy`) and has a port to route to. */
export const isRouted = (service: Pick<PlannedService, 'traefik' | 'ports' | 'expose'>): boolean => service.traefik && routedPort(service) !== undefined

/** Updated blue/green: routed, with no host port that two containers could not share. */
export const isBlueGreen = (service: Pick<PlannedService, 'traefik' | 'ports' | 'expose'>): boolean => isRouted(service) && service.ports.length === 0

export interface StackProxy {
  /** Labels a routed service's container carries so the proxy can discover it. */
  labelsFor(plan: StackPlan, service: PlannedService): Record<string, string>
  /** Makes sure the proxy runs on this node and reaches the stack's network. */
  ensure(plan: StackPlan, onProgress?: (event: ProgressEvent) => void): Promise<void>
  /** A stack went away; the proxy removes itself when no stack on the node needs it any more. */
  release(stack: string): Promise<void>
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    /** Traefik for routed services (runtime-traefik); absent when that plugin does not run. */
    proxy: StackProxy
    /** Caddy for routed services (runtime-caddy); absent when that plugin does not run. */
    'proxy-caddy': StackProxy
  }
}
