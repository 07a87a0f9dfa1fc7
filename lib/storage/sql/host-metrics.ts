// The host figures' history in SQL (migration 12): a JSON map of flat keys per sample, rolled into
// 1-minute and 15-minute rows inside the node series' maintenance transaction (same windows, same
// watermarks), pruned with the same retention, and read back beside the node series' points.
import { hostFiguresOf, type HostFigures } from '../host-series.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import type { MetricsSampleInput } from '../types.ts'
import type { SqlContext } from './context.ts'

export const HOST_TABLES = ['host_metrics_raw', 'host_metrics_1m', 'host_metrics_15m'] as const

type Run = SqlContext['run']

/** Stores the host figures of samples that carry any; the node series is written already. */
export async function appendHostFigures(q: SqlContext['q'], accountId: string, samples: Array<{ sample: MetricsSampleInput; at: number }>): Promise<void> {
  const rows: Array<{ agentId: string; at: string; v: HostFigures }> = []
  for (const { sample, at } of samples) {
    const v = hostFiguresOf(sample)
    if (v) rows.push({ agentId: sample.agentId, at: new Date(at).toISOString(), v })
  }
  if (rows.length === 0) return
  await q(
    `insert into host_metrics_raw (node_key, at, v)
     select n.key, s.at, s.v
     from jsonb_to_recordset($2::text::jsonb) as s("agentId" text, at timestamptz, v jsonb)
     join nodes n on n.account_id = $1 and n.id = s."agentId"
     on conflict do nothing`,
    [accountId, JSON.stringify(rows)],
  )
}

/** Rolls raw rows of [from, to) into minutes; returns how many minute rows were written. */
export async function rollHostMinutes(run: Run, tx: SqlExecutor, from: string, to: string): Promise<number> {
  const [row] = await run<{ n: number }>(
    tx,
    `with k as (
       select r.node_key, date_bin('1 minute', r.at, 'epoch') as bucket, f.key, avg(f.value::float8) as value, count(*) as n
       from host_metrics_raw r cross join jsonb_each_text(r.v) f
       where r.at >= $1 and r.at < $2 group by 1, 2, 3
     ),
     w as (
       insert into host_metrics_1m (node_key, bucket, samples, v)
       select node_key, bucket, least(max(n), 32767)::smallint, jsonb_object_agg(key, value) from k group by 1, 2
       on conflict (node_key, bucket) do update set samples = excluded.samples, v = excluded.v
       returning 1
     )
     select count(*)::int as n from w`,
    [from, to],
  )
  return Number(row!.n)
}

/** Rolls minute rows of [from, to) into quarter hours, each key weighted by its minute's samples. */
export async function rollHostQuarters(run: Run, tx: SqlExecutor, from: string, to: string): Promise<number> {
  const [row] = await run<{ n: number }>(
    tx,
    `with k as (
       select h.node_key, date_bin('15 minutes', h.bucket, 'epoch') as bucket, f.key,
              sum(f.value::float8 * h.samples) / sum(h.samples) as value, sum(h.samples) as n
       from host_metrics_1m h cross join jsonb_each_text(h.v) f
       where h.bucket >= $1 and h.bucket < $2 group by 1, 2, 3
     ),
     w as (
       insert into host_metrics_15m (node_key, bucket, samples, v)
       select node_key, bucket, least(max(n), 32767)::smallint, jsonb_object_agg(key, value) from k group by 1, 2
       on conflict (node_key, bucket) do update set samples = excluded.samples, v = excluded.v
       returning 1
     )
     select count(*)::int as n from w`,
    [from, to],
  )
  return Number(row!.n)
}

/** Deletes what the retention no longer keeps; the cut-offs are the node series' own. */
export async function pruneHostFigures(run: Run, tx: SqlExecutor, rawBefore: string, minuteBefore: string, quarterBefore: string): Promise<number> {
  const [row] = await run<{ n: number }>(
    tx,
    `with a as (delete from host_metrics_raw where at < $1 returning 1),
          b as (delete from host_metrics_1m where bucket < $2 returning 1),
          c as (delete from host_metrics_15m where bucket < $3 returning 1)
     select ((select count(*) from a) + (select count(*) from b) + (select count(*) from c))::int as n`,
    [rawBefore, minuteBefore, quarterBefore],
  )
  return Number(row!.n)
}

/**
 * A node's host figures by time (ms) over the same tier ranges the node series is read from:
 * quarter hours before `coarseDone`, minutes before `fineDone`, raw samples after; `-infinity` skips a tier.
 */
export async function queryHostFigures(
  q: SqlContext['q'],
  nodeKey: number,
  range: { start: string; end: string; coarseDone: string; fineDone: string },
): Promise<Map<number, HostFigures>> {
  const rows = await q<{ at: Date | string; v: HostFigures | string }>(
    `select bucket as at, v from host_metrics_15m
       where node_key = $1 and bucket >= $2::text::timestamptz and bucket <= $3::text::timestamptz and bucket < $4::text::timestamptz
     union all
     select bucket, v from host_metrics_1m
       where node_key = $1 and bucket >= greatest($2::text::timestamptz, $4::text::timestamptz) and bucket <= $3::text::timestamptz and bucket < $5::text::timestamptz
     union all
     select at, v from host_metrics_raw where node_key = $1 and at >= greatest($2::text::timestamptz, $5::text::timestamptz) and at <= $3::text::timestamptz`,
    [nodeKey, range.start, range.end, range.coarseDone, range.fineDone],
  )
  const out = new Map<number, HostFigures>()
  for (const r of rows) out.set(new Date(r.at).getTime(), typeof r.v === 'string' ? (JSON.parse(r.v) as HostFigures) : r.v)
  return out
}
