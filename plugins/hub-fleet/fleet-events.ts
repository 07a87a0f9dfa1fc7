// The fleet's lifecycle on the hub for plugins: `node:*` and `stack:*` events on `ctx.bus`, typed here by
// declaration merging. They fire where the state changes, alongside the dashboards' `fleet:live`.
import type { EventBus, ThreshEvents } from '../../core/index.ts'
import type { AgentEvent, AgentTransportName } from '../../lib/agent-session/protocol.ts'

export interface NodeRegisteredEvent {
  accountId: string
  nodeId: string
  hostname: string
  /** `hub` when the agent is connected straight to this hub, else the id of the mid-tier relaying it. */
  connectionTier: string
  /** How the agent reaches this hub; known only when it is connected straight to it. */
  transport?: AgentTransportName
  /** The id of the agent key it signed in with, when known (a mid-tier may not say). */
  keyId?: string
}

export interface NodeOfflineEvent {
  accountId: string
  nodeId: string
  /** `disconnected`: its connection closed; `silent`: it sent nothing for `offlineAfter`. */
  reason: 'disconnected' | 'silent'
  lastSeenAt?: string
}

export interface NodeRemovedEvent {
  accountId: string
  nodeId: string
  /** `removed`: a user removed it (API, CLI, dashboard); `stale`: offline for longer than `staleAfter`. */
  reason: 'removed' | 'stale'
}

/** Container events an agent saw in Docker's event stream and forwarded (straight or through a mid-tier). */
export interface NodeEventsEvent {
  accountId: string
  nodeId: string
  events: AgentEvent[]
}

/** An external mid-tier connected to `/midtierhub` (`connected: true`) or its connection closed. */
export interface MidtierConnectionEvent {
  accountId: string
  midtierId: string
  connected: boolean
  /** When the mid-tier's serving certificate expires, if it said (HTTPS mid-tiers do). */
  certificateExpiresAt?: string
}

export type StackOperation = 'deploy_stack' | 'update_service' | 'stop_stack' | 'start_stack' | 'destroy_stack'

interface StackEvent {
  accountId: string
  stackId: string
  name: string
  nodeId?: string
}

export interface StackDeployedEvent extends StackEvent {
  /** The command that deployed it (`GET /api/commands/{id}`). */
  commandId: string
  /** `running`, or `partial` when some services did not start (their `error` says why). */
  status: string
  services: Array<{ name: string; image: string; status: string; error?: string }>
}

export interface StackFailedEvent extends StackEvent {
  commandId: string
  operation: StackOperation
  /** One sentence: the agent's error, or that the node did not answer in time. */
  reason: string
  timedOut: boolean
  /** The services that reported an error, with it. */
  failedServices: Array<{ name: string; error: string | null }>
}

export interface StackUpdatedEvent extends StackEvent {
  commandId: string
  /** The service whose image changed (a rolling update that finished). */
  service: string
  image: string
}

export interface StackDestroyedEvent extends StackEvent {
  /** Forgotten without reaching its node (`force`, or the node is gone): containers may still run there. */
  forced: boolean
}

declare module '../../core/index.ts' {
  interface ThreshEvents {
    /** An agent registered (first time, or again after a reconnect): the node is online. */
    'node:registered': NodeRegisteredEvent
    'node:offline': NodeOfflineEvent
    'node:removed': NodeRemovedEvent
    /** A deploy (or redeploy) finished on its node. */
    'stack:deployed': StackDeployedEvent
    /** A stack operation that reached the node failed or timed out. */
    'stack:failed': StackFailedEvent
    'stack:destroyed': StackDestroyedEvent
    /** A rolling update of one service finished on its node. */
    'stack:updated': StackUpdatedEvent
    'node:events': NodeEventsEvent
    'midtier:connection': MidtierConnectionEvent
  }
}

/** What the fleet needs of `ctx.bus`. */
export type FleetBus = Pick<EventBus<ThreshEvents>, 'emit'>
