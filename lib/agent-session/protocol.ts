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

export interface MetricsData {
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
