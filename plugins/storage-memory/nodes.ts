// Nodes in memory: registration keeps what the agent does not send again (registeredAt, cluster,
// latest sample), and removing a node removes its metrics series.
import type { NodesStore } from '../../lib/storage/store-parts.ts'
import type { NodeRecord } from '../../lib/storage/types.ts'
import { applyPatch, copy, scoped, time } from './records.ts'
import { dropSeries, needAccount, nodeOrder, type MemoryState } from './state.ts'

export function createMemoryNodes(state: MemoryState): NodesStore {
  const { nodes, clock } = state
  return {
    async upsertNode(reg) {
      needAccount(state, reg.accountId)
      const now = clock().toISOString()
      const existing = nodes.get(scoped(reg.accountId, reg.id))
      const record: NodeRecord = {
        id: reg.id,
        accountId: reg.accountId,
        hostname: reg.hostname,
        platform: reg.platform ?? '',
        osVersion: reg.osVersion ?? '',
        ipAddress: reg.ipAddress ?? '',
        architecture: reg.architecture ?? '',
        containerRuntime: reg.containerRuntime ?? '',
        agentVersion: reg.agentVersion ?? '',
        cpuCores: Math.round(reg.cpuCores ?? 0),
        ramTotalGb: reg.ramTotalGb ?? 0,
        diskTotalGb: reg.diskTotalGb ?? 0,
        status: 'online',
        lastSeenAt: reg.lastSeenAt ?? now,
        registeredAt: existing?.registeredAt ?? reg.registeredAt ?? now,
      }
      const connectionTier = reg.connectionTier ?? existing?.connectionTier
      const keyId = reg.keyId ?? existing?.keyId
      const info = reg.info ?? existing?.info
      if (connectionTier !== undefined) record.connectionTier = connectionTier
      if (keyId !== undefined) record.keyId = keyId
      if (info !== undefined) record.info = copy(info)
      if (existing?.clusterId !== undefined) record.clusterId = existing.clusterId
      if (existing?.lastMetrics !== undefined) record.lastMetrics = existing.lastMetrics
      nodes.set(scoped(reg.accountId, reg.id), record)
      return copy(record)
    },
    async getNode(accountId, id) {
      return copy(nodes.get(scoped(accountId, id)))
    },
    async findNode(accountId, idOrName) {
      const byId = nodes.get(scoped(accountId, idOrName))
      if (byId) return copy(byId)
      const named = [...nodes.values()].filter((n) => n.accountId === accountId && n.hostname === idOrName)
      return copy(named.sort((a, b) => time(b.lastSeenAt) - time(a.lastSeenAt))[0])
    },
    async listNodes(accountId) {
      return copy([...nodes.values()].filter((n) => n.accountId === accountId).sort(nodeOrder))
    },
    async updateNode(accountId, id, patch) {
      const node = nodes.get(scoped(accountId, id))
      if (node) applyPatch(node, patch)
      return node !== undefined
    },
    async deleteNode(accountId, id) {
      dropSeries(state, accountId, id)
      return nodes.delete(scoped(accountId, id))
    },
    async countNodes(accountId) {
      let total = 0
      let online = 0
      for (const n of nodes.values()) {
        if (accountId !== undefined && n.accountId !== accountId) continue
        total++
        if (n.status === 'online') online++
      }
      return { total, online }
    },
    async markStaleNodesOffline(seenBefore) {
      const changed = []
      for (const n of nodes.values()) {
        if (n.status === 'online' && time(n.lastSeenAt) < time(seenBefore)) {
          n.status = 'offline'
          changed.push({ accountId: n.accountId, id: n.id })
        }
      }
      return changed
    },
    async pruneStaleNodes(seenBefore) {
      const removed = []
      for (const [key, n] of nodes) {
        if (time(n.lastSeenAt) < time(seenBefore)) {
          nodes.delete(key)
          dropSeries(state, n.accountId, n.id)
          removed.push({ accountId: n.accountId, id: n.id })
        }
      }
      return removed
    },
  }
}
