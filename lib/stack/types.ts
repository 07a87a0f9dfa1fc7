// The validated, normalised shape of a stack definition: what every other stack module works from.
import type { ProxyKind } from './proxy-contract.ts'

export interface PortMapping {
  /** Host port published on the node. */
  host: number
  /** Port the service listens on inside its container. */
  container: number
  protocol: 'tcp' | 'udp'
  /** Host address to bind; empty means every address. */
  hostIp: string
}

export interface VolumeMount {
  /** Volume name as written in the definition (scoped to the stack when created). */
  name: string
  path: string
  readOnly: boolean
}

export interface Healthcheck {
  /** Docker's form: `["CMD", ...]` or `["CMD-SHELL", "..."]`. */
  test: string[]
  intervalMs: number
  timeoutMs: number
  retries: number
  startPeriodMs: number
}

export interface StackService {
  name: string
  /** Image reference with any `docker:` prefix removed. */
  image: string
  ports: PortMapping[]
  volumes: VolumeMount[]
  env: Record<string, string>
  dependsOn: string[]
  /** Routed through Traefik (per-service `traefik`, or the stack's). */
  traefik: boolean
  route?: string
  command?: string[]
  healthcheck?: Healthcheck
  /** Container ports reachable on the stack's networks only: `80/tcp`. */
  expose?: string[]
}

export interface StackDefinition {
  name: string
  services: StackService[]
  /** The stack asked for routing (Traefik or `proxy`) at the top level or on any service. */
  traefik: boolean
  /** Which reverse proxy routes it (`default`: the node's); absent with `traefik: true` alone, which means Traefik. */
  proxy?: ProxyKind | 'default'
  targetNode?: string
  targetCluster?: string
}

/** One validation problem: where it is (`services.api.ports[0]`) and what is wrong. */
export interface StackProblem {
  path: string
  message: string
}

export type ParseResult =
  | { ok: true; stack: StackDefinition }
  | { ok: false; errors: StackProblem[] }
