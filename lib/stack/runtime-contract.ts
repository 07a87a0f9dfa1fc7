// The contract every container runtime implements (runtime-docker now; others later), shared by the
// local CLI, the agent's stack tools and the hub's view of stacks.
import type { StackDefinition } from './types.ts'

export type ServiceStatus =
  | 'pending'
  | 'pulling'
  | 'creating'
  | 'starting'
  | 'stopping'
  | 'running'
  | 'stopped'
  | 'blocked'
  | 'error'

export type StackStatus = 'deploying' | 'running' | 'partial' | 'stopped' | 'error' | 'updating'

export interface ServiceState {
  name: string
  image: string
  status: ServiceStatus
  /** Published ports as written (`"8080:80"`). */
  ports: string[]
  containerId?: string
  configHash?: string
  /** Why the service failed or is blocked. */
  error?: string
}

export interface StackState {
  name: string
  account: string
  status: StackStatus
  services: ServiceState[]
  traefik: boolean
  /** The first failure, in one sentence. */
  error?: string
  /**
   * Set when the last deploy failed and was undone: which service failed and why. The stack runs as it
   * did before that deploy (status `running`), or, after a first deploy, nothing of it is left.
   */
  rolledBack?: string
  createdAt?: string
}

/** What `deploy` would do to the node, per service. */
export interface DeployDiff {
  stack: string
  create: string[]
  recreate: string[]
  unchanged: string[]
  remove: string[]
}

export type ProgressEvent =
  | { type: 'service'; stack: string; service: string; status: ServiceStatus; message?: string }
  | { type: 'pull'; stack: string; service: string; image: string; percent?: number; message?: string }
  | { type: 'stack'; stack: string; status: StackStatus; message?: string }

export interface RuntimeCallOptions {
  /** Account whose stacks are meant (default `local`). */
  account?: string
  /** Live progress: per-service status changes and pull percentages. */
  onProgress?: (event: ProgressEvent) => void
  /**
   * deploy: undo everything when any service fails (every changed service back to its previous
   * container; a first deploy leaves nothing behind). Default: true for a redeploy, false for a first deploy.
   */
  rollback?: boolean
}

export interface StackRuntime {
  readonly name: string
  /** What a deploy of this definition would create, recreate, keep and remove on this node. */
  plan(stack: StackDefinition, options?: RuntimeCallOptions): Promise<DeployDiff>
  /**
   * Creates or converges a stack. Problems found before anything starts (a host port in use, an invalid
   * definition) throw; failures while starting resolve with `status: 'error'` and per-service reasons.
   */
  deploy(stack: StackDefinition, options?: RuntimeCallOptions): Promise<StackState>
  status(name: string, options?: RuntimeCallOptions): Promise<StackState | undefined>
  list(options?: RuntimeCallOptions): Promise<StackState[]>
  /** Rolling update of one service's image; the old container is restored if the new one fails. */
  updateService(name: string, service: string, image: string, options?: RuntimeCallOptions): Promise<StackState>
  /** Stops containers, keeps volumes. */
  stop(name: string, options?: RuntimeCallOptions): Promise<StackState | undefined>
  start(name: string, options?: RuntimeCallOptions): Promise<StackState | undefined>
  /** Removes containers, network and volumes; true when anything was there. */
  destroy(name: string, options?: RuntimeCallOptions): Promise<boolean>
}
