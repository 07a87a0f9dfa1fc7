// Stacks and their services in memory: a stack is replaced whole by id but keeps its createdAt.
import { conflict } from '../../lib/storage/errors.ts'
import type { StacksStore } from '../../lib/storage/store-parts.ts'
import type { StackRecord } from '../../lib/storage/types.ts'
import { applyPatch, byTime, copy } from './records.ts'
import { inAccount, needAccount, plugin, type MemoryState } from './state.ts'

export function createMemoryStacks(state: MemoryState): StacksStore {
  const { stacks, clock } = state
  return {
    async upsertStack(record) {
      needAccount(state, record.accountId)
      const existing = stacks.get(record.id)
      if (existing && existing.accountId !== record.accountId) throw conflict('A record with that id already exists.', plugin)
      if ([...stacks.values()].some((s) => s.accountId === record.accountId && s.name === record.name && s.id !== record.id)) {
        throw conflict('A stack with that name already exists in this account.', plugin)
      }
      const stored = copy(record)
      if (existing) stored.createdAt = existing.createdAt
      stacks.set(record.id, stored)
      return copy(record)
    },
    async getStack(accountId, id) {
      return copy(inAccount(stacks, accountId, id))
    },
    async getStackByName(accountId, name) {
      return copy([...stacks.values()].find((s) => s.accountId === accountId && s.name === name))
    },
    async listStacks(accountId) {
      return copy([...stacks.values()].filter((s) => s.accountId === accountId).sort((a, b) => byTime<StackRecord>('createdAt')(a, b) || a.name.localeCompare(b.name)))
    },
    async updateStack(accountId, id, patch) {
      const stack = inAccount(stacks, accountId, id)
      if (stack) applyPatch(stack, patch)
      return stack !== undefined
    },
    async setServiceStatus(accountId, stackId, name, patch) {
      const stack = inAccount(stacks, accountId, stackId)
      const service = stack?.services.find((s) => s.name === name)
      if (!stack || !service) return false
      service.status = patch.status
      if (patch.errorMessage === null) delete service.errorMessage
      else if (patch.errorMessage !== undefined) service.errorMessage = patch.errorMessage
      if (patch.image !== undefined) service.image = patch.image
      stack.updatedAt = clock().toISOString()
      return true
    },
    async deleteStack(accountId, id) {
      return inAccount(stacks, accountId, id) ? stacks.delete(id) : false
    },
  }
}
