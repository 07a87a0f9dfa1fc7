// The agent-session contract shared by both transports (SignalR and REST polling), server and
// agent side. Shapes follow CONTRACT §4 and the original thresh agent.

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

/** Who an agent key belongs to, as returned by the injected authenticator. */
export interface AgentPrincipal {
  accountId: string
  keyId: string
  scope: string
}

/**
 * Validates a bearer credential. Throw an error carrying `status` 401 (missing, unknown, revoked)
 * or 403 (wrong scope), e.g. a ThreshError.
 */
export type AgentAuthenticator = (bearerToken: string | undefined) => AgentPrincipal | Promise<AgentPrincipal>

export type AgentTransportName = 'signalr' | 'rest'

export type AgentConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting'

/** What a command handler returns; the client fills in agentId, commandId and timing. */
export interface CommandOutcome {
  success: boolean
  output?: string
  error?: string
}

export type CommandHandler = (command: AgentCommand) => CommandOutcome | Promise<CommandOutcome>

/** The agent side of a session, the same for both transports. */
export interface AgentTransportClient {
  readonly transport: AgentTransportName
  readonly state: AgentConnectionState
  /** Connects and registers; registration repeats on every reconnect. Rejects on 401/403. */
  connect(info: AgentInfo | (() => AgentInfo | Promise<AgentInfo>)): Promise<void>
  sendMetrics(metrics: MetricsData): Promise<void>
  sendCommandResult(result: CommandResult): Promise<void>
  sendStatusUpdate(update: StackServiceStatusUpdate): Promise<void>
  /**
   * Runs each command at most once per commandId; its outcome is sent as the CommandResult, and a
   * redelivered command that already finished gets the same result again.
   */
  onCommand(handler: CommandHandler): () => void
  onStateChange(listener: (state: AgentConnectionState, error?: Error) => void): () => void
  close(): Promise<void>
}
