// Commands sent to nodes, in memory; like the SQL store it keeps only the first result of a pending or
// sent command, so retried answers and late ones after a timeout are dropped.
import type { CommandsStore } from '../../lib/storage/store-parts.ts'
import type { CommandRecord } from '../../lib/storage/types.ts'
import { applyPatch, byTime, copy, time } from './records.ts'
import { ensureNewId, inAccount, needAccount, type MemoryState } from './state.ts'

export function createMemoryCommands(state: MemoryState): CommandsStore {
  const { commands } = state
  return {
    async createCommand(record) {
      needAccount(state, record.accountId)
      ensureNewId(commands, record.id)
      commands.set(record.id, copy(record))
      return copy(record)
    },
    async getCommand(accountId, id) {
      return copy(inAccount(commands, accountId, id))
    },
    async updateCommand(accountId, id, patch) {
      const command = inAccount(commands, accountId, id)
      if (command) applyPatch(command, patch)
      return command !== undefined
    },
    async finishCommand(accountId, id, patch) {
      const command = inAccount(commands, accountId, id)
      if (!command || (command.status !== 'pending' && command.status !== 'sent')) return false
      applyPatch(command, patch)
      return true
    },
    async listCommands(accountId, filter = {}) {
      const list = [...commands.values()]
        .filter((c) => c.accountId === accountId && (filter.nodeId === undefined || c.nodeId === filter.nodeId) && (filter.status === undefined || filter.status.includes(c.status)))
        .sort((a, b) => byTime<CommandRecord>('createdAt')(a, b) || a.id.localeCompare(b.id))
      return copy(list.slice(0, filter.limit ?? 1000))
    },
    async timeOutCommands(createdBefore, at) {
      const changed: CommandRecord[] = []
      for (const c of commands.values()) {
        if ((c.status === 'pending' || c.status === 'sent') && time(c.createdAt) < time(createdBefore)) {
          c.status = 'timeout'
          c.finishedAt = at
          c.error ??= 'The node did not answer in time.'
          changed.push(copy(c))
        }
      }
      return changed
    },
  }
}
