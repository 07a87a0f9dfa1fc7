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
  /** A bind mount: `name` is an absolute path on the node (allowed only under the node's allowed-bind-paths). */
  bind?: boolean
}

/** What a dependent waits for: the dependency started (default), is healthy, or ran to completion with status 0. */
export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully'

/** A secret or config file a service sees: the stack's file `source`, mounted read-only at `target`. */
export interface FileMount {
  source: string
  target: string
  /** Permission bits of the file inside the container (default 0444). */
  mode?: number
}

/** A secret's or config's content as sent with a stack; only the runtime and the hub's encrypted store see it. */
export interface StackFile {
  content: string
}

export interface ResourceLimits {
  memoryBytes?: number
  /** CPUs in billionths (Docker's NanoCpus): 0.5 CPU = 500000000. */
  nanoCpus?: number
  pids?: number
  /** Size of /dev/shm (`shm_size`). */
  shmBytes?: number
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
  /** `test: ["NONE"]` turns off the image's own healthcheck. */
  healthcheck?: Healthcheck
  /** Conditions other than service_started, per dependency. */
  dependsOnConditions?: Record<string, DependencyCondition>
  /** Container ports reachable on the stack's networks only: `80/tcp`. */
  expose?: string[]
  /** Docker restart policy once the service runs: no, always, unless-stopped (default), on-failure[:N]. */
  restart?: string
  entrypoint?: string[]
  user?: string
  workingDir?: string
  hostname?: string
  containerName?: string
  /** Docker labels the definition asks for (`labels` in the definition; `thresh.*` is reserved). */
  userLabels?: Record<string, string>
  capAdd?: string[]
  capDrop?: string[]
  stopSignal?: string
  stopGracePeriodMs?: number
  resources?: ResourceLimits
  sysctls?: Record<string, string>
  /** Networks the service joins with its aliases; `default` is the stack's own network (joined when none is named). */
  networks?: Record<string, { aliases: string[] }>
  secrets?: FileMount[]
  configs?: FileMount[]
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
  /** Extra networks the stack declares (besides `default`, its own network). */
  networks?: string[]
  secrets?: Record<string, StackFile>
  configs?: Record<string, StackFile>
}

/** One validation problem: where it is (`services.api.ports[0]`) and what is wrong. */
export interface StackProblem {
  path: string
  message: string
}

export type ParseResult =
  | { ok: true; stack: StackDefinition }
  | { ok: false; errors: StackProblem[] }
