// What agents and servers send each other over either transport (SignalR and REST polling): the wire
// shapes of CONTRACT §4, as the original thresh agent sends them. Both sides import them from here.

export interface AgentInfo {
  agentId: string
  hostname: string
  platform: string
  osVersion: string
  threshVersion: string
  ipAddress: string
  architecture: string
  containerRuntime: string
  cpuCores: number
  ramTotalGb: number
  diskTotalGb: number
  registeredAt: string
}

/** Figures beyond the original agent's MetricsData: optional, so either agent's samples are valid. */
export interface HostExtras {
  /** 1, 5 and 15 minutes. */
  loadAverage?: [number, number, number]
  swapUsedMB?: number
  swapTotalMB?: number
  network?: Array<{ interface: string; rxBytesPerSec: number; txBytesPerSec: number }>
  diskIo?: Array<{ device: string; readBytesPerSec: number; writeBytesPerSec: number }>
  /** Where the host exposes sensors (/sys/class/hwmon, /sys/class/thermal). */
  temperatures?: Array<{ sensor: string; celsius: number }>
}

export interface MetricsData extends HostExtras {
  agentId: string
  timestamp: string
  cpuPercent: number
  cpuPerCore: number[]
  memoryUsedMB: number
  memoryTotalMB: number
  diskUsedGB: number
  diskTotalGB: number
  disks: Array<{ mount: string; usedGB: number; totalGB: number }>
  containersRunning: number
  containers: unknown[]
  environmentCount: number
  uptimeSeconds: number
}

export type AgentTool =
  | 'deploy_stack'
  | 'update_service'
  | 'stop_stack'
  | 'start_stack'
  | 'destroy_stack'
  | 'create_environment'
  | 'list_blueprints'
  | 'list_environments'
  | 'get_metrics'
  | 'get_version'

export interface AgentCommand {
  commandId: string
  tool: AgentTool | (string & {})
  arguments: Record<string, unknown>
}

export interface CommandResult {
  agentId: string
  commandId: string
  status: 'success' | 'error'
  success: boolean
  output: string
  error: string
  timestamp: string
  durationMs: number
}

export interface StackServiceStatusUpdate {
  stackId: string
  serviceName: string
  status: string
  errorMessage?: string | null
}

export type AgentTransportName = 'signalr' | 'rest'

/** What happened to a container on the node, as the agent saw it in Docker's event stream. */
export type AgentEventType = 'container_start' | 'container_die' | 'container_oom' | 'container_health' | 'container_restart_loop'

/**
 * One event an agent forwards (`SendEvents(AgentEvent[])`, `POST /api/agent/events`): an addition to
 * the original protocol, buffered like metrics while the server is away.
 */
export interface AgentEvent {
  type: AgentEventType
  /** ISO-8601 time Docker reported it. */
  at: string
  containerId?: string
  container?: string
  /** From the container's `thresh.stack` / `thresh.service` labels, when thresh deployed it. */
  stack?: string
  service?: string
  image?: string
  /** `container_die`: the exit code. */
  exitCode?: number
  /** `container_die`: the stop was asked for (Docker paired it with a stop or removal), not a crash or a kill. */
  requested?: boolean
  /** `container_health`: `healthy`, `unhealthy` or `starting`. */
  health?: string
  /** `container_restart_loop`: restarts within `windowSeconds`. */
  restarts?: number
  windowSeconds?: number
}
