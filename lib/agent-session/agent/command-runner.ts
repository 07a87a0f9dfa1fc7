// Agent-side command execution shared by both clients: at most once per commandId, and a
// redelivered command that already finished gets its stored result sent again.
import type { AgentCommand, CommandResult } from '../protocol.ts'
import type { CommandHandler } from './types.ts'

export interface CommandRunner {
  setHandler(handler: CommandHandler | undefined): void
  run(command: AgentCommand): Promise<void>
}

export function createCommandRunner(options: {
  agentId(): string
  sendResult(result: CommandResult): Promise<void>
  remember?: number
  onError?(error: unknown): void
}): CommandRunner {
  const remember = options.remember ?? 1000
  const outcomes = new Map<string, CommandResult | 'running'>()
  let handler: CommandHandler | undefined

  const send = async (result: CommandResult) => {
    try {
      await options.sendResult(result)
    } catch (error) {
      // The server redelivers the command; the stored result goes out then.
      options.onError?.(error)
    }
  }

  return {
    setHandler(next) {
      handler = next
    },
    async run(command) {
      if (typeof command?.commandId !== 'string') return
      const known = outcomes.get(command.commandId)
      if (known === 'running') return
      if (known) return send(known)
      if (!handler) return
      outcomes.set(command.commandId, 'running')
      if (outcomes.size > remember) outcomes.delete(outcomes.keys().next().value as string)
      const started = Date.now()
      let result: CommandResult
      try {
        const outcome = await handler(command)
        result = {
          agentId: options.agentId(),
          commandId: command.commandId,
          status: outcome.success ? 'success' : 'error',
          success: outcome.success,
          output: outcome.output ?? '',
          error: outcome.error ?? '',
          timestamp: new Date().toISOString(),
          durationMs: Date.now() - started,
        }
      } catch (error) {
        result = {
          agentId: options.agentId(),
          commandId: command.commandId,
          status: 'error',
          success: false,
          output: '',
          error: error instanceof Error ? error.message : String(error),
          timestamp: new Date().toISOString(),
          durationMs: Date.now() - started,
        }
      }
      outcomes.set(command.commandId, result)
      await send(result)
    },
  }
}
