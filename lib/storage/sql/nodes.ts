// Nodes in SQL. Every write and list read first flushes the coalesced latest reports (latest-reports.ts);
// single-node reads overlay them instead of waiting. A node's newest report and when it was seen live in
// `node_reports` (migration 16), read with the node. Deleting a node deletes its metrics series in the
// same transaction.
import { arrayLiteral, type SqlExecutor, type SqlParam } from '../sql-executor.ts'
import type { NodesStore } from '../store-parts.ts'
import type { NodeRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import { HOST_TABLES } from './host-metrics.ts'
import type { LatestReports } from './latest-reports.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

/** Nodes with their latest report, for `${selectNodes} where ...` (the columns of `nodes` need no prefix). */
export const selectNodes = `select nodes.*, r.seen_at as reported_at, r.report from nodes left join node_reports r on r.node_key = nodes.key`

const later = (a: unknown, b: unknown) => (b === null || b === undefined || new Date(a as string) >= new Date(b as string) ? a : b)

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
    lastSeenAt: iso(later(r.last_seen_at, r.reported_at))!,
    registeredAt: iso(r.registered_at)!,
    clusterId: opt(r.cluster_id),
    connectionTier: opt(r.connection_tier),
    keyId: opt(r.key_id),
    info: opt(r.info),
    lastMetrics: opt(r.report),
    heldBy: opt(r.held_by),
  })

export function createSqlNodes({ db, run, q, patchRow, clock }: SqlContext, latest: LatestReports): NodesStore {
  const flushLatest = latest.flush

  async function deleteNodes(exec: SqlExecutor, where: string, params: SqlParam[]): Promise<Array<{ accountId: string; id: string }>> {
    const rows = await run(exec, `delete from nodes where ${where} returning account_id, id, key`, params)
    if (rows.length > 0) {
      const keys = arrayLiteral(rows.map((r) => Number(r.key)))
      for (const table of ['node_reports', 'metrics_raw', 'metrics_1m', 'metrics_15m_day', 'container_metrics', ...HOST_TABLES]) {
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
         returning *, (select r.seen_at from node_reports r where r.node_key = nodes.key) as reported_at,
           (select r.report from node_reports r where r.node_key = nodes.key) as report`,
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
      const [row] = await q(`${selectNodes} where account_id = $1 and id = $2`, [accountId, id])
      return row && latest.overlay(toNode(row))
    },
    async findNode(accountId, idOrName) {
      const [row] = await q(
        `${selectNodes} where account_id = $1 and (id = $2 or hostname = $2)
         order by (id = $2) desc, greatest(last_seen_at, r.seen_at) desc limit 1`,
        [accountId, idOrName],
      )
      return row && latest.overlay(toNode(row))
    },
    async listNodes(accountId) {
      await flushLatest()
      return (await q(`${selectNodes} where account_id = $1 order by hostname, id`, [accountId])).map(toNode)
    },
    async updateNode(accountId, id, patch) {
      await flushLatest()
      const { lastMetrics, ...rest } = patch
      const found = await patchRow('nodes', accountId, id, rest, { status: 'text', lastSeenAt: 'timestamptz', connectionTier: 'text', hostname: 'text' })
      if (!found || (lastMetrics === undefined && patch.lastSeenAt === undefined)) return found
      // A patched lastSeenAt is the node's, in both rows; a report patched alone keeps the seen-at time.
      const seenAt = patch.lastSeenAt ?? null
      if (lastMetrics === undefined) {
        await q(`update node_reports set seen_at = $3 from nodes n where n.account_id = $1 and n.id = $2 and node_reports.node_key = n.key`, [accountId, id, seenAt])
        return true
      }
      if (lastMetrics === null) {
        await q(`delete from node_reports using nodes n where n.account_id = $1 and n.id = $2 and node_reports.node_key = n.key`, [accountId, id])
        return true
      }
      const at = Date.parse(String(lastMetrics.timestamp ?? ''))
      await q(
        `insert into node_reports (node_key, seen_at, at, report)
         select n.key, coalesce($3::text::timestamptz, n.last_seen_at), coalesce($4::text::timestamptz, n.last_seen_at), $5::text::jsonb
         from nodes n where n.account_id = $1 and n.id = $2
         on conflict (node_key) do update set seen_at = coalesce($3::text::timestamptz, node_reports.seen_at), at = excluded.at, report = excluded.report`,
        [accountId, id, seenAt, Number.isFinite(at) ? new Date(at).toISOString() : null, json(lastMetrics)],
      )
      return true
    },
    async deleteNode(accountId, id) {
      await flushLatest()
      return db.transaction(async (tx) => (await deleteNodes(tx, 'account_id = $1 and id = $2', [accountId, id])).length > 0)
    },
    async countNodes(accountId) {
      await flushLatest()
      const of = accountId === undefined ? '' : ' where account_id = $1'
      const [row] = await q(`select count(*)::int as total, (count(*) filter (where status = 'online'))::int as online from nodes${of}`, accountId === undefined ? [] : [accountId])
      return { total: Number(row?.total ?? 0), online: Number(row?.online ?? 0) }
    },
    async markStaleNodesOffline(seenBefore) {
      await flushLatest()
      const rows = await q(
        `update nodes set status = 'offline'
         where status = 'online' and last_seen_at < $1 and not exists (select 1 from node_reports r where r.node_key = nodes.key and r.seen_at >= $1)
         returning account_id, id`,
        [seenBefore],
      )
      return rows.map((r) => ({ accountId: r.account_id, id: r.id }))
    },
    async pruneStaleNodes(seenBefore) {
      await flushLatest()
      return db.transaction((tx) => deleteNodes(tx, 'last_seen_at < $1 and not exists (select 1 from node_reports r where r.node_key = nodes.key and r.seen_at >= $1)', [seenBefore]))
    },
  }
}
