// The agent side of a session, the same for both transports: what the agent's connection code drives
// and what its command handlers return.
import type { AgentCommand, AgentEvent, AgentInfo, AgentTransportName, CommandResult, MetricsData, StackServiceStatusUpdate } from '../protocol.ts'

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
  /** Container events seen on the node (`SendEvents`, `POST /api/agent/events`). */
  sendEvents(events: AgentEvent[]): Promise<void>
  /**
   * Runs each command at most once per commandId; its outcome is sent as the CommandResult, and a
   * redelivered command that already finished gets the same result again.
   */
  onCommand(handler: CommandHandler): () => void
  onStateChange(listener: (state: AgentConnectionState, error?: Error) => void): () => void
  close(): Promise<void>
}
