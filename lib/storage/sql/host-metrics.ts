// The host figures' history in SQL (migration 12): each point is a real[] in the order of a layout (the
// figures' sorted keys, stored once in host_layouts), written as two more columns of the node series'
// insert; rolled into 1-minute and 15-minute rows inside the node series' maintenance transaction (same
// windows, same watermarks), pruned with the same retention, and read back as flat figures beside the
// node series' points.
import { addHostFigures, averageHostFigures, hostFiguresOf, type HostFigures } from '../host-series.ts'
import { arrayLiteral, type SqlExecutor } from '../sql-executor.ts'
import type { MetricsSampleInput } from '../types.ts'
import type { SqlContext } from './context.ts'

/** The tables keyed by node (deleted with it); host_layouts is shared. */
export const HOST_TABLES = ['host_metrics_raw', 'host_metrics_1m', 'host_metrics_15m'] as const

type Run = SqlContext['run']
type Query = SqlContext['q']

export interface HostFigureStore {
  /**
   * The host figures of samples as two more columns of the node series' insert (layout id, values as a
   * real[] literal; null for a sample without figures), or undefined when none of them has any.
   */
  columns(samples: MetricsSampleInput[]): Promise<{ layouts: Array<number | null>; vals: Array<string | null> } | undefined>
  rollMinutes(tx: SqlExecutor, from: string, to: string): Promise<number>
  rollQuarters(tx: SqlExecutor, from: string, to: string): Promise<number>
  prune(tx: SqlExecutor, rawBefore: string, minuteBefore: string, quarterBefore: string): Promise<number>
  /**
   * A node's figures by time (ms) over the tier ranges the node series is read from: quarter hours
   * before `coarseDone`, minutes before `fineDone`, raw samples after; `-infinity` skips a tier.
   */
  query(nodeKey: number, range: { start: string; end: string; coarseDone: string; fineDone: string }): Promise<Map<number, HostFigures>>
}

// A tier's rollup: averages per node, bucket, layout and position, the finer rows weighted by their samples.
const rollupSql = (source: string, target: string, at: string, step: string, weight: string) => `
  with k as (
    select r.node_key, date_bin('${step}', r.${at}, 'epoch') as bucket, r.layout, v.i,
           sum(v.x * ${weight}) / sum(${weight}) as x, sum(${weight}) as n
    from ${source} r cross join unnest(r.vals) with ordinality as v(x, i)
    where r.${at} >= $1 and r.${at} < $2 group by 1, 2, 3, 4
  ),
  w as (
    insert into ${target} (node_key, bucket, layout, samples, vals)
    select node_key, bucket, layout, least(max(n), 32767)::smallint, array_agg(x::real order by i) from k group by 1, 2, 3
    on conflict (node_key, bucket, layout) do update set samples = excluded.samples, vals = excluded.vals
    returning 1
  )
  select count(*)::int as n from w`

export function createHostFigureStore(q: Query, run: Run): HostFigureStore {
  // Layouts by their keys and by id: a fleet has a handful (one per kind of machine), never deleted.
  const idOf = new Map<string, number>()
  const keysOf = new Map<number, string[]>()

  async function layoutId(keys: string[]): Promise<number> {
    const name = keys.join('\n')
    const known = idOf.get(name)
    if (known !== undefined) return known
    const sql = `with ins as (insert into host_layouts (keys) values ($1::text::text[]) on conflict (keys) do nothing returning id)
       select id from ins union all select id from host_layouts where keys = $1::text::text[] limit 1`
    let [row] = await q<{ id: number }>(sql, [arrayLiteral(keys)])
    // Another hub inserted the same layout after this statement's snapshot: it is there on a second look.
    if (!row) [row] = await q<{ id: number }>(sql, [arrayLiteral(keys)])
    if (!row) throw new Error('the host figures layout could not be stored')
    const id = Number(row.id)
    idOf.set(name, id)
    keysOf.set(id, keys)
    return id
  }

  async function keysFor(ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !keysOf.has(id))
    if (missing.length === 0) return
    for (const r of await q<{ id: number; keys: string[] }>('select id, keys from host_layouts where id = any($1::text::int[])', [arrayLiteral(missing)])) {
      keysOf.set(Number(r.id), r.keys)
      idOf.set(r.keys.join('\n'), Number(r.id))
    }
  }

  const rollCount = async (tx: SqlExecutor, sql: string, from: string, to: string) => Number((await run<{ n: number }>(tx, sql, [from, to]))[0]!.n)

  return {
    async columns(samples) {
      let any = false
      const layouts: Array<number | null> = []
      const vals: Array<string | null> = []
      for (const sample of samples) {
        const figures = hostFiguresOf(sample)
        if (!figures) {
          layouts.push(null)
          vals.push(null)
          continue
        }
        any = true
        const keys = Object.keys(figures).sort()
        layouts.push(await layoutId(keys))
        vals.push(arrayLiteral(keys.map((k) => figures[k]!)))
      }
      return any ? { layouts, vals } : undefined
    },

    rollMinutes: (tx, from, to) => rollCount(tx, rollupSql('host_metrics_raw', 'host_metrics_1m', 'at', '1 minute', '1'), from, to),
    rollQuarters: (tx, from, to) => rollCount(tx, rollupSql('host_metrics_1m', 'host_metrics_15m', 'bucket', '15 minutes', 'r.samples'), from, to),

    async prune(tx, rawBefore, minuteBefore, quarterBefore) {
      const [row] = await run<{ n: number }>(
        tx,
        `with a as (delete from host_metrics_raw where at < $1 returning 1),
              b as (delete from host_metrics_1m where bucket < $2 returning 1),
              c as (delete from host_metrics_15m where bucket < $3 returning 1)
         select ((select count(*) from a) + (select count(*) from b) + (select count(*) from c))::int as n`,
        [rawBefore, minuteBefore, quarterBefore],
      )
      return Number(row!.n)
    },

    async query(nodeKey, range) {
      const rows = await q<{ at: Date | string; layout: number; samples: number; vals: number[] }>(
        `select bucket as at, layout, samples, vals from host_metrics_15m
           where node_key = $1 and bucket >= $2::text::timestamptz and bucket <= $3::text::timestamptz and bucket < $4::text::timestamptz
         union all
         select bucket, layout, samples, vals from host_metrics_1m
           where node_key = $1 and bucket >= greatest($2::text::timestamptz, $4::text::timestamptz) and bucket <= $3::text::timestamptz and bucket < $5::text::timestamptz
         union all
         select at, layout, 1, vals from host_metrics_raw
           where node_key = $1 and at >= greatest($2::text::timestamptz, $5::text::timestamptz) and at <= $3::text::timestamptz`,
        [nodeKey, range.start, range.end, range.coarseDone, range.fineDone],
      )
      await keysFor(rows.map((r) => Number(r.layout)))
      // A bucket holds one row per layout it saw (an agent upgraded mid-bucket): merged, weighted by samples.
      const sums = new Map<number, Map<string, { sum: number; n: number }>>()
      for (const r of rows) {
        const keys = keysOf.get(Number(r.layout))
        if (!keys) continue
        const at = new Date(r.at).getTime()
        const figures: HostFigures = {}
        keys.forEach((key, i) => {
          const v = r.vals[i]
          if (v !== null && v !== undefined) figures[key] = Number(v)
        })
        let slot = sums.get(at)
        if (!slot) sums.set(at, (slot = new Map()))
        addHostFigures(slot, figures, Number(r.samples))
      }
      const out = new Map<number, HostFigures>()
      for (const [at, slot] of sums) out.set(at, averageHostFigures(slot)!)
      return out
    },
  }
}
