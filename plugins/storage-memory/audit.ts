// The audit log in memory: append-only with sequential ids, listed newest first and paged by id.
import type { AuditStore } from '../../lib/storage/store-parts.ts'
import type { AuditRecord } from '../../lib/storage/types.ts'
import { copy } from './records.ts'
import { needAccount, type MemoryState } from './state.ts'

export function createMemoryAudit(state: MemoryState): AuditStore {
  const audit: AuditRecord[] = []
  let auditSeq = 0
  return {
    async appendAudit(record) {
      needAccount(state, record.accountId)
      const entry = { ...copy(record), id: String(++auditSeq) }
      audit.push(entry)
      return copy(entry)
    },
    async listAudit(accountId, options = {}) {
      const before = options.before === undefined ? Infinity : Number(options.before)
      return copy(
        audit
          .filter((e) => e.accountId === accountId && Number(e.id) < before)
          .reverse()
          .slice(0, options.limit ?? 100),
      )
    },
  }
}
