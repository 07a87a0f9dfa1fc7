// Nodes in SQL. Every write and list read first flushes the coalesced latest reports (latest-reports.ts);
// single-node reads overlay them instead of waiting. Deleting a node deletes its metrics series in the
// same transaction.
import { arrayLiteral, type SqlExecutor, type SqlParam } from '../sql-executor.ts'
import type { NodesStore } from '../store-parts.ts'
import type { NodeRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import type { LatestReports } from './latest-reports.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

export const toNode = (r: Row): NodeRecord =>
  clean({
    id: r.id,
    accountId: r.account_id,
    hostname: r.hostname,
    platform: r.platform,
    osVersion: r.os_version,
    ipAddress: r.ip_address,
    architecture: r.architecture,
    containerRuntime: r.container_runtime,
    agentVersion: r.agent_version,
    cpuCores: Number(r.cpu_cores),
    ramTotalGb: Number(r.ram_total_gb),
    diskTotalGb: Number(r.disk_total_gb),
    status: r.status,
    lastSeenAt: iso(r.last_seen_at)!,
    registeredAt: iso(r.registered_at)!,
    clusterId: opt(r.cluster_id),
    connectionTier: opt(r.connection_tier),
    keyId: opt(r.key_id),
    info: opt(r.info),
    lastMetrics: opt(r.last_metrics),
    heldBy: opt(r.held_by),
  })

export function createSqlNodes({ db, run, q, patchRow, clock }: SqlContext, latest: LatestReports): NodesStore {
  const flushLatest = latest.flush

  async function deleteNodes(exec: SqlExecutor, where: string, params: SqlParam[]): Promise<Array<{ accountId: string; id: string }>> {
    const rows = await run(exec, `delete from nodes where ${where} returning account_id, id, key`, params)
    if (rows.length > 0) {
      const keys = arrayLiteral(rows.map((r) => Number(r.key)))
      for (const table of ['metrics_raw', 'metrics_1m', 'metrics_15m_day', 'container_metrics']) {
        await run(exec, `delete from ${table} where node_key = any($1::text::int[])`, [keys])
      }
    }
    return rows.map((r) => ({ accountId: r.account_id, id: r.id }))
  }

  return {
    async upsertNode(reg) {
      await flushLatest()
      const now = clock().toISOString()
      const [row] = await q(
        `insert into nodes (account_id, id, hostname, platform, os_version, ip_address, architecture, container_runtime,
           agent_version, cpu_cores, ram_total_gb, disk_total_gb, status, last_seen_at, registered_at, connection_tier, key_id, info, held_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'online', $13, $14, $15, $16, $17::text::jsonb, $18)
         on conflict (account_id, id) do update set
           hostname = excluded.hostname, platform = excluded.platform, os_version = excluded.os_version,
           ip_address = excluded.ip_address, architecture = excluded.architecture,
           container_runtime = excluded.container_runtime, agent_version = excluded.agent_version,
           cpu_cores = excluded.cpu_cores, ram_total_gb = excluded.ram_total_gb, disk_total_gb = excluded.disk_total_gb,
           status = 'online', last_seen_at = excluded.last_seen_at,
           connection_tier = coalesce(excluded.connection_tier, nodes.connection_tier),
           key_id = coalesce(excluded.key_id, nodes.key_id), info = coalesce(excluded.info, nodes.info),
           held_by = excluded.held_by
         returning *`,
        [
          reg.accountId,
          reg.id,
          reg.hostname,
          reg.platform ?? '',
          reg.osVersion ?? '',
          reg.ipAddress ?? '',
          reg.architecture ?? '',
          reg.containerRuntime ?? '',
          reg.agentVersion ?? '',
          Math.round(reg.cpuCores ?? 0),
          reg.ramTotalGb ?? 0,
          reg.diskTotalGb ?? 0,
          reg.lastSeenAt ?? now,
          reg.registeredAt ?? now,
          reg.connectionTier ?? null,
          reg.keyId ?? null,
          json(reg.info),
          reg.heldBy ?? null,
        ],
      )
      return toNode(row!)
    },
    async getNode(accountId, id) {
      const [row] = await q('select * from nodes where account_id = $1 and id = $2', [accountId, id])
      return row && latest.overlay(toNode(row))
    },
    async findNode(accountId, idOrName) {
      const [row] = await q(
        `select * from nodes where account_id = $1 and (id = $2 or hostname = $2)
         order by (id = $2) desc, last_seen_at desc limit 1`,
        [accountId, idOrName],
      )
      return row && latest.overlay(toNode(row))
    },
    async listNodes(accountId) {
      await flushLatest()
      return (await q('select * from nodes where account_id = $1 order by hostname, id', [accountId])).map(toNode)
    },
    async updateNode(accountId, id, patch) {
      await flushLatest()
      return patchRow('nodes', accountId, id, patch, {
        status: 'text',
        lastSeenAt: 'timestamptz',
        connectionTier: 'text',
        hostname: 'text',
        lastMetrics: 'jsonb',
      })
    },
    async deleteNode(accountId, id) {
      await flushLatest()
      return db.transaction(async (tx) => (await deleteNodes(tx, 'account_id = $1 and id = $2', [accountId, id])).length > 0)
    },
    async countNodes() {
      await flushLatest()
      const [row] = await q(`select count(*)::int as total, (count(*) filter (where status = 'online'))::int as online from nodes`)
      return { total: Number(row?.total ?? 0), online: Number(row?.online ?? 0) }
    },
    async markStaleNodesOffline(seenBefore) {
      await flushLatest()
      const rows = await q(`update nodes set status = 'offline' where status = 'online' and last_seen_at < $1 returning account_id, id`, [seenBefore])
      return rows.map((r) => ({ accountId: r.account_id, id: r.id }))
    },
    async pruneStaleNodes(seenBefore) {
      await flushLatest()
      return db.transaction((tx) => deleteNodes(tx, 'last_seen_at < $1', [seenBefore]))
    },
  }
}
