// The fleet's live events for dashboards, shaped in this one place and published on the bus as
// `fleet:live`; `/dashboardhub` and the dashboard's server-sent-events fallback forward them unchanged.
import type { NodeDetail } from './views.ts'

/** Client methods a dashboard receives, each with one argument. */
export type LiveTarget =
  | 'NodeRegistered'
  | 'NodeUpdated'
  | 'NodeOffline'
  | 'NodeRemoved'
  | 'NodeMetrics'
  | 'StackServiceStatus'
  | 'StackCommandResult'
  /** A fleet event as stored in the event log (hub-alerts), as `GET /api/events` lists it. */
  | 'FleetEvent'

export interface FleetLiveEvent {
  /** Only dashboards signed in to this account receive it. */
  accountId: string
  target: LiveTarget
  args: [Record<string, unknown>]
}

declare module '../../core/index.ts' {
  interface ThreshEvents {
    'fleet:live': FleetLiveEvent
  }
}

const event = (accountId: string, target: LiveTarget, arg: Record<string, unknown>): FleetLiveEvent => ({ accountId, target, args: [arg] })

/** The event builders: node payloads are the REST API's NodeDetail, so a dashboard draws both alike. */
export const live = {
  /** A node (re)registered: its full detail, as `GET /api/nodes/{id}` answers. */
  registered: (accountId: string, node: NodeDetail) => event(accountId, 'NodeRegistered', { ...node, agentId: node.id }),
  /** Something about a node changed other than its metrics (cluster, back online). */
  updated: (accountId: string, node: NodeDetail) => event(accountId, 'NodeUpdated', { ...node, agentId: node.id }),
  offline: (accountId: string, nodeId: string, lastSeenAt?: string) =>
    event(accountId, 'NodeOffline', { agentId: nodeId, id: nodeId, status: 'offline', ...(lastSeenAt ? { lastSeenAt } : {}) }),
  removed: (accountId: string, nodeId: string) => event(accountId, 'NodeRemoved', { agentId: nodeId, id: nodeId }),
  /** The agent's whole MetricsData (per-core CPU, disks, containers), not only what is stored as a series. */
  metrics: (accountId: string, agentId: string, metrics: Record<string, unknown>) => event(accountId, 'NodeMetrics', { ...metrics, agentId }),
  serviceStatus: (accountId: string, agentId: string, update: Record<string, unknown>) => event(accountId, 'StackServiceStatus', { ...update, agentId }),
  commandResult: (accountId: string, agentId: string, result: { commandId?: unknown; status?: unknown }) =>
    event(accountId, 'StackCommandResult', { agentId, commandId: result.commandId, status: result.status }),
}
