// How runtime-docker hands routed services to a reverse proxy (runtime-traefik implements it).
import type Docker from 'dockerode'
import type { PlannedService, ProgressEvent, StackPlan } from '../../lib/stack/index.ts'

export interface StackProxy {
  /** Labels a routed service's container carries so the proxy can discover it. */
  labelsFor(plan: StackPlan, service: PlannedService): Record<string, string>
  /** Makes sure the proxy runs on this node and reaches the stack's network. */
  ensure(plan: StackPlan, onProgress?: (event: ProgressEvent) => void): Promise<void>
  /** A stack went away; the proxy removes itself when no stack on the node needs it any more. */
  release(stack: string): Promise<void>
}

export type StackProxyFactory = (docker: Docker) => StackProxy
