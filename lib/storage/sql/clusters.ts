// Clusters in SQL: named groups of an account's nodes; a node's membership lives on the node row.
import type { ClustersStore } from '../store-parts.ts'
import type { ClusterSummary } from '../types.ts'
import type { SqlContext } from './context.ts'
import type { LatestReports } from './latest-reports.ts'
import { selectNodes, toNode } from './nodes.ts'
import { iso, type Row } from './rows.ts'

const toCluster = (r: Row): ClusterSummary => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  description: r.description,
  createdAt: iso(r.created_at)!,
  nodeCount: Number(r.node_count ?? 0),
})

const clusterSelect = `select c.*, (select count(*) from nodes n where n.account_id = c.account_id and n.cluster_id = c.id)::int as node_count from clusters c`

export function createSqlClusters({ q }: SqlContext, latest: LatestReports): ClustersStore {
  return {
    async createCluster(record) {
      await q('insert into clusters (id, account_id, name, description, created_at) values ($1, $2, $3, $4, $5)', [
        record.id,
        record.accountId,
        record.name,
        record.description,
        record.createdAt,
      ])
      return { ...record }
    },
    async getCluster(accountId, id) {
      const [row] = await q(`${clusterSelect} where c.account_id = $1 and c.id = $2`, [accountId, id])
      return row && toCluster(row)
    },
    async getClusterByName(accountId, name) {
      const [row] = await q(`${clusterSelect} where c.account_id = $1 and c.name = $2`, [accountId, name])
      return row && toCluster(row)
    },
    async listClusters(accountId) {
      return (await q(`${clusterSelect} where c.account_id = $1 order by c.name`, [accountId])).map(toCluster)
    },
    async deleteCluster(accountId, id) {
      return (await q('delete from clusters where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },
    async setNodeCluster(accountId, nodeId, clusterId) {
      const rows = await q(
        `update nodes set cluster_id = $3 where account_id = $1 and id = $2
           and ($3::text is null or exists (select 1 from clusters where account_id = $1 and id = $3)) returning 1`,
        [accountId, nodeId, clusterId],
      )
      return rows.length > 0
    },
    async listClusterNodes(accountId, clusterId) {
      await latest.flush()
      return (await q(`${selectNodes} where account_id = $1 and cluster_id = $2 order by hostname, id`, [accountId, clusterId])).map(toNode)
    },
  }
}
