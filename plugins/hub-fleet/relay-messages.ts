// The NOTIFY messages hubs send each other about a command that crosses hubs: `run` wakes the hub
// holding the node, `done` wakes the hub that was asked. A message carries the command or its result
// when that fits in NOTIFY's 8,000 bytes; otherwise only the id, and the receiver reads the row.
// `disconnect` asks the hub holding an agent's connection to close it.
import type { CommandRecord, CommandStatus } from '../../lib/storage/types.ts'

const MAX_BYTES = 7900
const encoder = new TextEncoder()
const fits = (text: string) => text.length * 3 < MAX_BYTES || encoder.encode(text).length < MAX_BYTES

export interface RunMessage {
  k: 'run'
  id: string
  accountId: string
  timeoutMs: number
  /** The whole record when it fits. */
  record?: CommandRecord
}

export interface DoneMessage {
  k: 'done'
  id: string
  accountId: string
  status: CommandStatus
  /** The result when it fits. */
  result?: Pick<CommandRecord, 'output' | 'error' | 'durationMs' | 'finishedAt'>
  /** The sender already applied the result (stack status); the receiver only answers its caller. */
  applied: boolean
}

/** Close the connection of an agent the receiving hub holds (its node was removed with force on another hub). */
export interface DisconnectMessage {
  k: 'disconnect'
  /** The node's id. */
  id: string
  accountId: string
  reason: string
}

export type RelayMessage = RunMessage | DoneMessage | DisconnectMessage

export function disconnectMessage(accountId: string, nodeId: string, reason: string): string {
  return JSON.stringify({ k: 'disconnect', id: nodeId, accountId, reason } satisfies DisconnectMessage)
}

export function runMessage(record: CommandRecord, timeoutMs: number): string {
  const full = JSON.stringify({ k: 'run', id: record.id, accountId: record.accountId, timeoutMs, record } satisfies RunMessage)
  return fits(full) ? full : JSON.stringify({ k: 'run', id: record.id, accountId: record.accountId, timeoutMs } satisfies RunMessage)
}

export function doneMessage(record: CommandRecord, applied: boolean): string {
  const base = { k: 'done' as const, id: record.id, accountId: record.accountId, status: record.status, applied }
  const result = { output: record.output, error: record.error, durationMs: record.durationMs, finishedAt: record.finishedAt }
  const full = JSON.stringify({ ...base, result } satisfies DoneMessage)
  return fits(full) ? full : JSON.stringify(base satisfies DoneMessage)
}

export function parseRelayMessage(text: string): RelayMessage | undefined {
  try {
    const message = JSON.parse(text) as RelayMessage
    return (message?.k === 'run' || message?.k === 'done' || message?.k === 'disconnect') && typeof message.id === 'string' && typeof message.accountId === 'string' ? message : undefined
  } catch {
    return undefined
  }
}
