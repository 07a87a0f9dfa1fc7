// Why a local stack's last deploy was rolled back, kept in THRESH_HOME (the hub keeps its own), so that
// `thresh stack info|list` show "rolled back: <reason>" after the command that deployed has ended.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StackState } from '../../lib/stack/index.ts'
import { threshHome } from '../credentials.ts'

const file = () => join(threshHome(), 'local-rollbacks.json')

function read(): Record<string, string> {
  try {
    const value = JSON.parse(readFileSync(file(), 'utf8')) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, string>) : {}
  } catch {
    return {}
  }
}

/** Records (or, with no reason, forgets) why the stack's last deploy was rolled back. */
export function noteRollback(stack: string, reason: string | undefined): void {
  const notes = read()
  if (reason === undefined && !(stack in notes)) return
  if (reason === undefined) delete notes[stack]
  else notes[stack] = reason
  mkdirSync(threshHome(), { recursive: true })
  writeFileSync(file(), `${JSON.stringify(notes, null, 2)}\n`, { mode: 0o600 })
}

/** The state with the recorded rollback reason, while the stack still runs what the rollback restored. */
export function withRollbackNote(state: StackState): StackState {
  const reason = read()[state.name]
  return reason !== undefined && state.status === 'running' ? { ...state, rolledBack: reason } : state
}
