// The `deploy_stack` arguments the hub sends an agent: the validated, env-resolved definition in the
// array form (itself a valid stack definition), plus the stack's id and the account that owns it.
import { formatPort, formatVolume, type ProxyKind, type StackDefinition, type StackService } from '../../lib/stack/index.ts'
import { formatDependencies, formatServiceExtras } from '../../lib/stack/service-extras.ts'

export interface DeployStackArguments {
  stackId: string
  stackName: string
  /** Docker objects are labelled and named for this account (`<account>-<stack>-<service>`). */
  account: string
  traefik: boolean
  proxy?: ProxyKind | 'default'
  services: PortableService[]
  networks?: string[]
  /** Secret and config content travels to the node that mounts it, nowhere else. */
  secrets?: Record<string, { content: string }>
  configs?: Record<string, { content: string }>
}

export interface PortableService {
  name: string
  image: string
  ports: string[]
  volumes: string[]
  env: Record<string, string>
  dependsOn: string[] | Record<string, { condition: string }>
  traefik: boolean
  route?: string
  [extra: string]: unknown
  command?: string[]
  expose?: string[]
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; startPeriod: string }
}

export function portableService(service: StackService): PortableService {
  return {
    name: service.name,
    image: service.image,
    ports: service.ports.map(formatPort),
    volumes: service.volumes.map(formatVolume),
    env: service.env,
    dependsOn: formatDependencies(service),
    traefik: service.traefik,
    ...(service.route !== undefined ? { route: service.route } : {}),
    ...(service.command ? { command: service.command } : {}),
    ...(service.healthcheck
      ? {
          healthcheck: {
            test: service.healthcheck.test,
            interval: `${service.healthcheck.intervalMs}ms`,
            timeout: `${service.healthcheck.timeoutMs}ms`,
            retries: service.healthcheck.retries,
            startPeriod: `${service.healthcheck.startPeriodMs}ms`,
          },
        }
      : {}),
    ...formatServiceExtras(service),
  }
}

/** `stack` must already be resolved (`resolveStack`). */
export function deployStackArguments(stack: StackDefinition, stackId: string, account: string): DeployStackArguments {
  // `proxy` names the proxy; `traefik` stays for agents that know only Traefik, and would contradict it.
  const routing = stack.proxy !== undefined ? { traefik: false, proxy: stack.proxy } : { traefik: stack.traefik }
  return {
    stackId,
    stackName: stack.name,
    account,
    ...routing,
    services: stack.services.map(portableService),
    ...(stack.networks ? { networks: stack.networks } : {}),
    ...(stack.secrets ? { secrets: stack.secrets } : {}),
    ...(stack.configs ? { configs: stack.configs } : {}),
  }
}
