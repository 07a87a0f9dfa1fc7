// Metrics series in SQL: raw samples appended in one unnest statement per batch, rolled into 1-minute
// rows and 15-minute day rows by maintenance, and read back from whichever tiers cover a range.
import { containerBucket, containerRows } from '../container-history.ts'
import type { HostFigures } from '../host-series.ts'
import { aggregate, chooseResolution, floorTo, queryRange, stepMs } from '../metrics-tiers.ts'
import { mergeDaysSql } from '../migrations.ts'
import { arrayLiteral } from '../sql-executor.ts'
import type { MetricsStore } from '../store-parts.ts'
import type { ContainerSeries, FleetStore, MetricsPoint, MetricsResolution, MetricsSampleInput } from '../types.ts'
import { writeIsolatingBadRows } from './bad-rows.ts'
import type { SqlContext } from './context.ts'
import { createHostFigureStore, HOST_TABLES } from './host-metrics.ts'
import type { LatestReports } from './latest-reports.ts'
import { iso, type Row } from './rows.ts'

const MINUTE = 60_000
const QUARTER = 15 * MINUTE
const DAY = 24 * 60 * MINUTE

/**
 * Joins `s` (rows with an agent_id of account $1) to their node's key, one primary-key probe per row
 * (a lateral subquery with a limit, which the planner cannot turn into a join); rows of unknown nodes
 * drop out. A plain join let the planner hash every node of the account for each batch (a scan of
 * 40,000 rows to store 1,000 samples), so a sample cost more the larger the fleet.
 */
const withNodeKey = `cross join lateral (select n.key as node_key from nodes n where n.account_id = $1 and n.id = s.agent_id limit 1) k`

function toPoint(r: Row): MetricsPoint {
  return {
    at: iso(r.at)!,
    cpuPercent: Number(r.cpu),
    cpuMax: Number(r.cpu_max),
    memoryUsedMb: Number(r.mem_used),
    memoryTotalMb: Number(r.mem_total),
    diskUsedGb: Number(r.disk_used),
    diskTotalGb: Number(r.disk_total),
    containersRunning: Number(r.containers),
    samples: Number(r.samples),
  }
}

function withHost(point: MetricsPoint, host: Map<number, HostFigures>): MetricsPoint {
  const figures = host.get(Date.parse(point.at))
  return figures ? { ...point, host: figures } : point
}

export function createSqlMetrics({ db, run, q, clock, plugin, retention, warn }: SqlContext, latest: LatestReports): MetricsStore & Pick<FleetStore, 'metricsBytes'> {
  const hostFigures = createHostFigureStore(q, run)

  async function rollupState(): Promise<Record<string, Date>> {
    const rows = await q('select tier, done_until from metrics_rollup_state')
    return Object.fromEntries(rows.map((r) => [r.tier, new Date(r.done_until)]))
  }

  // Per-container history, one point per container and minute (the first sample of the minute wins).
  async function appendContainers(accountId: string, samples: MetricsSampleInput[]) {
    const rows = samples.flatMap((s) => containerRows(s).map((r) => ({ agentId: s.agentId, at: new Date(containerBucket(Date.parse(s.timestamp))).toISOString(), ...r })))
    if (rows.length === 0) return
    try {
      await q(
        `insert into container_metrics (node_key, at, name, cpu, mem)
         select k.node_key, s.at, s.name, s.cpu, s.mem
         from unnest($2::text::text[], $3::text::timestamptz[], $4::text::text[], $5::text::real[], $6::text::real[]) as s(agent_id, at, name, cpu, mem)
         ${withNodeKey}
         on conflict do nothing`,
        [accountId, arrayLiteral(rows.map((r) => r.agentId)), arrayLiteral(rows.map((r) => r.at)), arrayLiteral(rows.map((r) => r.name)), arrayLiteral(rows.map((r) => r.cpu)), arrayLiteral(rows.map((r) => r.mem))],
      )
    } catch (error) {
      // The node series is stored; a refused container batch costs only its history.
      warn(`Dropped per-container usage of ${rows.length} container point(s) (account ${accountId}): ${(error as Error).message}`)
    }
  }

  return {
    async queryContainerMetrics(accountId, nodeId, query) {
      const { from, to } = queryRange(query, plugin)
      const rows = await q(
        `select c.name, c.at, c.cpu, c.mem from container_metrics c join nodes n on n.key = c.node_key
         where n.account_id = $1 and n.id = $2 and c.at >= $3 and c.at <= $4 and ($5::text is null or c.name = $5)
         order by c.name, c.at`,
        [accountId, nodeId, from.toISOString(), to.toISOString(), query.container ?? null],
      )
      const series: ContainerSeries[] = []
      for (const r of rows) {
        if (series.at(-1)?.name !== r.name) series.push({ name: String(r.name), points: [] })
        series.at(-1)!.points.push({ at: iso(r.at)!, cpuPercent: r.cpu === null ? null : Number(r.cpu), memoryMb: Number(r.mem) })
      }
      return series
    },

    async appendMetrics(accountId, samples) {
      if (samples.length === 0) return 0
      // One date parse per sample (it was three and a Date): the instant is kept beside the sample.
      const valid: MetricsSampleInput[] = []
      const atOf = new Map<MetricsSampleInput, number>()
      for (const s of samples) {
        const at = typeof s.agentId === 'string' ? Date.parse(s.timestamp) : NaN
        if (!Number.isFinite(at)) continue
        valid.push(s)
        atOf.set(s, at)
      }
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
      const insert = async (rows: MetricsSampleInput[]) => {
        // Host figures (load, network, ...) ride in the same statement: one round trip and one node lookup.
        const host = await hostFigures.columns(rows)
        const [row] = await q<{ stored: number }>(
          `with s as (
             select * from unnest($2::text::text[], $3::text::timestamptz[], $4::text::real[], $5::text::real[], $6::text::real[],
                                  $7::text::real[], $8::text::real[], $9::text::smallint[]${host ? ', $10::text::int[], $11::text::text[]' : ''})
               as s(agent_id, at, cpu, mem_used, mem_total, disk_used, disk_total, containers${host ? ', layout, vals' : ''})
           ),
           ins as (
             insert into metrics_raw (node_key, at, cpu, mem_used, mem_total, disk_used, disk_total, containers)
             select k.node_key, s.at, s.cpu, s.mem_used, s.mem_total, s.disk_used, s.disk_total, s.containers
             from s ${withNodeKey}
             on conflict do nothing
             returning 1
           ),${host ? `
           host as (
             insert into host_metrics_raw (node_key, at, layout, vals)
             select n.key, s.at, s.layout, s.vals::real[]
             from s join nodes n on n.account_id = $1 and n.id = s.agent_id
             where s.layout is not null
             on conflict do nothing
           ),` : ''}
           late as (
             update metrics_rollup_state set dirty_from = least(coalesce(dirty_from, 'infinity'), (select min(at) from s))
             where tier = '1m' and done_until > (select min(at) from s)
             returning 1
           )
           select (select count(*) from ins)::int as stored`,
          [
            accountId,
            arrayLiteral(rows.map((s) => s.agentId)),
            arrayLiteral(rows.map((s) => new Date(atOf.get(s)!).toISOString())),
            arrayLiteral(rows.map((s) => num(s.cpuPercent))),
            arrayLiteral(rows.map((s) => num(s.memoryUsedMB))),
            arrayLiteral(rows.map((s) => num(s.memoryTotalMB))),
            arrayLiteral(rows.map((s) => num(s.diskUsedGB))),
            arrayLiteral(rows.map((s) => num(s.diskTotalGB))),
            arrayLiteral(rows.map((s) => Math.max(0, Math.min(32767, Math.round(num(s.containersRunning)))))),
            ...(host ? [arrayLiteral(host.layouts), arrayLiteral(host.vals)] : []),
          ],
        )
        return Number(row!.stored)
      }
      // A sample the database refuses is dropped alone; the batch (and the writer's retries) go on.
      const refused = new Set<MetricsSampleInput>()
      const stored = await writeIsolatingBadRows(valid, insert, (s, error) => {
        refused.add(s)
        warn(`Dropped a metrics sample of node ${JSON.stringify(s.agentId)} (account ${accountId}): the database refused it (${(error as Error).message}).`)
      })
      const kept = valid.filter((s) => !refused.has(s))
      await appendContainers(accountId, kept)
      // Node freshness is coalesced and written back in one statement (latest-reports.ts).
      const newest = new Map<string, { at: number; sample: MetricsSampleInput }>()
      for (const s of valid) {
        if (refused.has(s)) continue
        const at = atOf.get(s)!
        const seen = newest.get(s.agentId)
        if (!seen || seen.at <= at) newest.set(s.agentId, { at, sample: s })
      }
      latest.queue(accountId, newest)
      return stored
    },

    async queryMetrics(accountId, nodeId, query) {
      const now = query.now ?? clock()
      const { from, to } = queryRange(query, plugin)
      const resolution: MetricsResolution = query.resolution ?? chooseResolution(from, to, now, retention)
      const step = stepMs[resolution]
      const series = { nodeId, resolution, stepMs: step, points: [] as MetricsPoint[] }
      const [node] = await q<{ key: number }>('select key from nodes where account_id = $1 and id = $2', [accountId, nodeId])
      if (!node) return series
      const key = Number(node.key)
      const pointCols = `cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers, samples`
      const rawCols = `cpu, cpu as cpu_max, mem_used, mem_total, disk_used, disk_total, containers, 1 as samples`
      if (resolution === 'raw') {
        const rows = await q(`select at, ${rawCols} from metrics_raw where node_key = $1 and at >= $2 and at <= $3 order by at`, [
          key,
          from.toISOString(),
          to.toISOString(),
        ])
        const host = await hostFigures.query(key, { start: from.toISOString(), end: to.toISOString(), coarseDone: '-infinity', fineDone: '-infinity' })
        series.points = rows.map((r) => withHost(toPoint(r), host))
        return series
      }
      const state = await rollupState()
      const start = new Date(floorTo(from.getTime(), step)).toISOString()
      const end = to.toISOString()
      const parts: Row[] = []
      // Rolled-up buckets, then the finer data not yet rolled up (maintenance runs about once a minute).
      const doneFine = state['1m']!.toISOString()
      if (resolution === '15m') {
        const doneCoarse = state['15m']!.toISOString()
        parts.push(
          ...(await q(
            `select * from (
               select to_timestamp(e.day::bigint * 86400 + (i - 1) * 900) as at, e.samples[i] as samples, e.cpu[i] as cpu,
                      e.cpu_max[i] as cpu_max, e.mem_used[i] as mem_used, e.mem_total[i] as mem_total, e.disk_used[i] as disk_used,
                      e.disk_total[i] as disk_total, e.containers[i] as containers
               from metrics_15m_day e cross join generate_series(1, 96) as i
               where e.node_key = $1 and e.day between $5 and $6 and e.samples[i] is not null) p
             where at >= $2 and at <= $3 and at < $4`,
            [key, start, end, doneCoarse, Math.floor(Date.parse(start) / DAY), Math.floor(Date.parse(end) / DAY)],
          )),
          ...(await q(
            `select bucket as at, ${pointCols} from metrics_1m where node_key = $1 and bucket >= greatest($2::text::timestamptz, $4::text::timestamptz)
               and bucket <= $3 and bucket < $5`,
            [key, start, end, doneCoarse, doneFine],
          )),
        )
      } else {
        parts.push(
          ...(await q(`select bucket as at, ${pointCols} from metrics_1m where node_key = $1 and bucket >= $2 and bucket <= $3 and bucket < $4`, [
            key,
            start,
            end,
            doneFine,
          ])),
        )
      }
      parts.push(
        ...(await q(`select at, ${rawCols} from metrics_raw where node_key = $1 and at >= greatest($2::text::timestamptz, $4::text::timestamptz) and at <= $3`, [
          key,
          start,
          end,
          doneFine,
        ])),
      )
      const host = await hostFigures.query(key, { start, end, coarseDone: resolution === '15m' ? state['15m']!.toISOString() : '-infinity', fineDone: doneFine })
      series.points = aggregate(parts.map((r) => withHost(toPoint(r), host)), step)
      return series
    },

    async maintainMetrics(now = clock()) {
      return db.transaction(async (tx) => {
        const states = await run(tx, 'select tier, done_until, dirty_from from metrics_rollup_state for update')
        const get = (tier: string) => states.find((s) => s.tier === tier)!
        const t = now.getTime()
        const done1 = new Date(get('1m').done_until).getTime()
        const dirty1 = get('1m').dirty_from === null ? Infinity : new Date(get('1m').dirty_from).getTime()
        const to1 = floorTo(t, MINUTE)
        const from1 = Math.max(floorTo(Math.min(done1, dirty1), MINUTE), Math.ceil((t - retention.rawMs) / MINUTE) * MINUTE)
        let rolledUp = 0
        if (from1 < to1) {
          const rows = await run<{ n: number }>(
            tx,
            `with r as (
               insert into metrics_1m (node_key, bucket, samples, cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers)
               select node_key, date_bin('1 minute', at, 'epoch'), count(*), avg(cpu), max(cpu), avg(mem_used), avg(mem_total),
                      avg(disk_used), avg(disk_total), avg(containers)
               from metrics_raw where at >= $1 and at < $2 group by 1, 2
               on conflict (node_key, bucket) do update set samples = excluded.samples, cpu = excluded.cpu, cpu_max = excluded.cpu_max,
                 mem_used = excluded.mem_used, mem_total = excluded.mem_total, disk_used = excluded.disk_used,
                 disk_total = excluded.disk_total, containers = excluded.containers
               returning 1)
             select count(*)::int as n from r`,
            [new Date(from1).toISOString(), new Date(to1).toISOString()],
          )
          rolledUp += Number(rows[0]!.n)
          rolledUp += await hostFigures.rollMinutes(tx, new Date(from1).toISOString(), new Date(to1).toISOString())
        }
        const done15 = new Date(get('15m').done_until).getTime()
        const to15 = floorTo(to1, QUARTER)
        const from15 = Math.max(floorTo(Math.min(done15, from1), QUARTER), Math.ceil((t - retention.minuteMs) / QUARTER) * QUARTER)
        if (from15 < to15) {
          const rows = await run<{ n: number }>(
            tx,
            `with b as (
               select node_key, (floor(extract(epoch from bucket) / 900) * 900)::bigint as s15, sum(samples) as samples,
                      sum(cpu * samples) / sum(samples) as cpu, max(cpu_max) as cpu_max, sum(mem_used * samples) / sum(samples) as mem_used,
                      sum(mem_total * samples) / sum(samples) as mem_total, sum(disk_used * samples) / sum(samples) as disk_used,
                      sum(disk_total * samples) / sum(samples) as disk_total, sum(containers * samples) / sum(samples) as containers
               from metrics_1m where bucket >= $1 and bucket < $2 group by 1, 2
             ),
             d as (
               select node_key, (s15 / 86400)::int as day, ((s15 % 86400) / 900 + 1)::int as idx,
                      samples, cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers
               from b
             ),
             ${mergeDaysSql}
             select (select count(*) from d)::int as n, (select count(*) from written)::int as days`,
            [new Date(from15).toISOString(), new Date(to15).toISOString()],
          )
          rolledUp += Number(rows[0]!.n)
          rolledUp += await hostFigures.rollQuarters(tx, new Date(from15).toISOString(), new Date(to15).toISOString())
        }
        await run(tx, `update metrics_rollup_state set done_until = greatest(done_until, $1::text::timestamptz), dirty_from = null where tier = '1m'`, [
          new Date(to1).toISOString(),
        ])
        await run(tx, `update metrics_rollup_state set done_until = greatest(done_until, $1::text::timestamptz) where tier = '15m'`, [
          new Date(to15).toISOString(),
        ])
        const [pruned] = await run<{ n: number }>(
          tx,
          `with a as (delete from metrics_raw where at < $1 returning 1),
                b as (delete from metrics_1m where bucket < $2 returning 1),
                c as (delete from metrics_15m_day where day < $3 returning 1),
                d as (delete from container_metrics where at < $1 returning 1)
           select ((select count(*) from a) + (select count(*) from b) + (select count(*) from c) + (select count(*) from d))::int as n`,
          // 15-minute history goes a whole UTC day at a time.
          [new Date(t - retention.rawMs).toISOString(), new Date(t - retention.minuteMs).toISOString(), Math.floor((t - retention.quarterHourMs) / DAY)],
        )
        const prunedHost = await hostFigures.prune(
          tx,
          new Date(t - retention.rawMs).toISOString(),
          new Date(t - retention.minuteMs).toISOString(),
          new Date(floorTo(t - retention.quarterHourMs, DAY)).toISOString(),
        )
        return { rolledUp, pruned: Number(pruned!.n) + prunedHost }
      })
    },

    async metricsBytes() {
      const [row] = await q<{ n: number }>(
        `select (pg_total_relation_size('metrics_raw') + pg_total_relation_size('metrics_1m') + pg_total_relation_size('metrics_15m_day') + pg_total_relation_size('container_metrics')${[...HOST_TABLES, 'host_layouts'].map((t) => ` + pg_total_relation_size('${t}')`).join('')})::float8 as n`,
      )
      return Number(row!.n)
    },
  }
}
