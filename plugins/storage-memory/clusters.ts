// Clusters in memory: membership lives on the node record, as in SQL, so a node is in at most one.
import { conflict } from '../../lib/storage/errors.ts'
import type { ClustersStore } from '../../lib/storage/store-parts.ts'
import type { ClusterRecord, ClusterSummary } from '../../lib/storage/types.ts'
import { copy, scoped } from './records.ts'
import { ensureNewId, inAccount, needAccount, nodeOrder, plugin, type MemoryState } from './state.ts'

export function createMemoryClusters(state: MemoryState): ClustersStore {
  const { clusters, nodes } = state
  const clusterSummary = (c: ClusterRecord): ClusterSummary => ({
    ...copy(c),
    nodeCount: [...nodes.values()].filter((n) => n.accountId === c.accountId && n.clusterId === c.id).length,
  })
  return {
    async createCluster(record) {
      needAccount(state, record.accountId)
      ensureNewId(clusters, record.id)
      if ([...clusters.values()].some((c) => c.accountId === record.accountId && c.name === record.name)) {
        throw conflict('A cluster with that name already exists in this account.', plugin)
      }
      clusters.set(record.id, copy(record))
      return copy(record)
    },
    async getCluster(accountId, id) {
      const c = inAccount(clusters, accountId, id)
      return c && clusterSummary(c)
    },
    async getClusterByName(accountId, name) {
      const c = [...clusters.values()].find((x) => x.accountId === accountId && x.name === name)
      return c && clusterSummary(c)
    },
    async listClusters(accountId) {
      return [...clusters.values()].filter((c) => c.accountId === accountId).sort((a, b) => a.name.localeCompare(b.name)).map(clusterSummary)
    },
    async deleteCluster(accountId, id) {
      if (!inAccount(clusters, accountId, id)) return false
      clusters.delete(id)
      for (const n of nodes.values()) if (n.accountId === accountId && n.clusterId === id) delete n.clusterId
      return true
    },
    async setNodeCluster(accountId, nodeId, clusterId) {
      const node = nodes.get(scoped(accountId, nodeId))
      if (!node || (clusterId !== null && !inAccount(clusters, accountId, clusterId))) return false
      if (clusterId === null) delete node.clusterId
      else node.clusterId = clusterId
      return true
    },
    async listClusterNodes(accountId, clusterId) {
      return copy([...nodes.values()].filter((n) => n.accountId === accountId && n.clusterId === clusterId).sort(nodeOrder))
    },
  }
}
