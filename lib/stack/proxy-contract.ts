// How a stack runtime hands routed (`traefik: true`) services to a reverse proxy, and the `proxy`
// service a proxy plugin provides: runtime and proxy plugins both depend on this, never on each other.
import type { PlannedService, StackPlan } from './plan.ts'
import type { ProgressEvent } from './runtime-contract.ts'

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
    /** The reverse proxy for routed services (runtime-traefik); absent when no proxy plugin runs. */
    proxy: StackProxy
  }
}
