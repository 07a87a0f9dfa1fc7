// One hub on PostgreSQL as the fleet grows (issue #17): for each fleet size N, a hub process on a fresh
// schema, agents simulated behind synthetic mid-tier processes (bench/fleet-synthetic-midtier.mjs, one
// per 10,000 agents, each agent reporting every 30 s, batches flushed every 5 s as the real mid-tier
// does), then for a window: REST command round trips (`GET /api/nodes/{id}/blueprints`, hub -> mid-tier
// -> agent -> hub) to random nodes, paced, one at a time, and every SendMetricsBatch's time to its ack.
// The baseline is the smallest fleet of the same run: flat in N means the ratios stay near 1.
// After each window it reads the tables' counters (HOT updates, dead rows) and times the queries a
// command and a sample cost, with EXPLAIN ANALYZE (FLEET_SCALE_PLANS=FILE writes the plans there).
// Needs `npm run build` and PostgreSQL (THRESH_TEST_DATABASE_URL). Options (env):
//   FLEET_SCALE_SIZES   fleet sizes, default 1000,10000,40000 (the full set of issue #17)
//   FLEET_SCALE_SECONDS measuring window per size, default 60
//   FLEET_SCALE_WARMUP  seconds after registration before the window (default 35: every node reports once)
//   FLEET_SCALE_RATE    commands started per second at most, default 10
// `node bench/fleet-scale.mjs` runs it alone; `npm run bench -- scale` within the bench suite.
import { randomBytes } from 'node:crypto'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import postgres from 'postgres'
import { databaseUrl, percentile, sleep, startSyntheticMidtier } from './fleet-support.mjs'
import { startHub } from './hub-fleet.mjs'

export const name = 'fleet scale: one hub on PostgreSQL at 1,000 / 10,000 / 40,000 agents'
const SIZES = (process.env.FLEET_SCALE_SIZES ?? '1000,10000,40000').split(',').map(Number)
const SECONDS = Number(process.env.FLEET_SCALE_SECONDS ?? 60)
const WARMUP = Number(process.env.FLEET_SCALE_WARMUP ?? 35)
const RATE = Number(process.env.FLEET_SCALE_RATE ?? 10)
const PLANS = process.env.FLEET_SCALE_PLANS
const REPORT_MS = 30_000
const PER_MIDTIER = 10_000

const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12])
}

async function measure(n) {
  const schema = `thresh_bench_scale_${randomBytes(4).toString('hex')}`
  const hub = await startHub(schema)
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { search_path: schema } })
  const midtiers = []
  try {
    const midKey = (await (await fetch(`${hub.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${hub.token}` }, body: JSON.stringify({ type: 'midtier', name: 'bench-mid' }) })).json()).key
    const registerStarted = performance.now()
    const count = Math.ceil(n / PER_MIDTIER)
    midtiers.push(
      ...(await Promise.all(
        Array.from({ length: count }, (_, m) => {
          const agents = Math.floor(n / count) + (m < n % count ? 1 : 0)
          return startSyntheticMidtier({ url: hub.url, key: midKey, count: agents, prefix: `m${m}`, midtierId: `m${m}`, reportMs: REPORT_MS })
        }),
      )),
    )
    const registerMs = performance.now() - registerStarted
    const ids = midtiers.flatMap((mid, m) => Array.from({ length: mid.ready }, (_, i) => `m${m}-${i}`))
    await sleep(WARMUP * 1000)
    for (const mid of midtiers) await mid.stats()
    const tableBefore = await tableStats(sql)

    // Commands one at a time, started at most RATE per second, for the window.
    const times = []
    let failed = 0
    const cpuBefore = cpuTicks(hub.proc.pid)
    const started = performance.now()
    for (let i = 0; performance.now() - started < SECONDS * 1000; i++) {
      const due = started + (i * 1000) / RATE
      if (performance.now() < due) await sleep(due - performance.now())
      const node = ids[Math.floor(Math.random() * ids.length)]
      const t0 = performance.now()
      const res = await fetch(`${hub.url}/api/nodes/${node}/blueprints`, { headers: { authorization: `Bearer ${hub.token}` } })
      await res.arrayBuffer()
      if (res.status === 200) times.push(performance.now() - t0)
      else failed++
    }
    const windowMs = performance.now() - started
    const hubCpu = ((cpuTicks(hub.proc.pid) - cpuBefore) * 10) / windowMs
    const stats = await Promise.all(midtiers.map((mid) => mid.stats()))
    const acks = stats.flatMap((s) => s.acks).sort((a, b) => a - b)
    times.sort((a, b) => a - b)
    const tables = await tableStats(sql)
    const queries = await timeQueries(sql, n, ids)
    return {
      n,
      registerMs,
      times,
      failed,
      acks,
      samples: stats.reduce((a, s) => a + s.samples, 0),
      batchFailures: stats.reduce((a, s) => a + s.failed, 0),
      buffered: stats.reduce((a, s) => a + s.buffered, 0),
      windowMs,
      hubCpu,
      tables,
      tableBefore,
      queries,
    }
  } finally {
    await Promise.all(midtiers.map((mid) => mid.stop()))
    // The hub records the mid-tiers' departure before it stops, instead of failing to on the way out.
    await sleep(2000)
    hub.proc.kill('SIGTERM')
    await new Promise((resolve) => (hub.proc.exitCode !== null ? resolve() : hub.proc.once('exit', resolve)))
    await sql.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {})
    await sql.end()
  }
}

async function tableStats(sql) {
  const rows = await sql.unsafe(
    `select relname, n_live_tup::int, n_dead_tup::int, n_tup_upd::int, n_tup_hot_upd::int, pg_total_relation_size(relid)::bigint as bytes
     from pg_stat_user_tables where schemaname = current_schema() and relname in ('nodes', 'node_reports', 'metrics_raw', 'commands')`,
  )
  return Object.fromEntries(rows.map((r) => [r.relname, { ...r, bytes: Number(r.bytes) }]))
}

/**
 * The statements a command and a sample cost, each timed as the hub runs them (prepared, from a
 * connection of its own, median of several) and explained (ANALYZE, BUFFERS) into FLEET_SCALE_PLANS.
 * Writes are explained inside a transaction that is rolled back.
 */
async function timeQueries(sql, n, ids) {
  const [{ account_id: accountId }] = await sql.unsafe('select account_id from nodes limit 1')
  const pick = (k) => Array.from({ length: k }, () => ids[Math.floor(Math.random() * ids.length)])
  const arr = (xs) => `{${xs.map((x) => `"${x}"`).join(',')}}`
  const now = new Date().toISOString()
  const flushRows = [...new Set(pick(Math.round((n * 2) / 30)))]
  const snapshot = JSON.stringify({ agentId: 'x', timestamp: now, cpuPercent: 10, cpuPerCore: [10, 10], memoryUsedMB: 500, memoryTotalMB: 4000, diskUsedGB: 10, diskTotalGB: 40, disks: [{ mount: '/', usedGB: 10, totalGB: 40 }], containersRunning: 0, containers: [], environmentCount: 0, uptimeSeconds: 1 })
  const batch = pick(1000)
  const probes = (await sql.unsafe(`select to_regclass('node_reports') is not null as yes`))[0].yes
  const statements = {
    'findNode (by id)': [`select * from nodes where account_id = $1 and (id = $2 or hostname = $2) order by (id = $2) desc, last_seen_at desc limit 1`, () => [accountId, pick(1)[0]]],
    'latest-report write-back (2 s of reports)': [
      readFileSync(new URL('../dist/lib/storage/sql/latest-reports.js', import.meta.url), 'utf8').match(/`((?:with l as|update nodes)[\s\S]*?)`/)?.[1] ?? 'select 1',
      () => [arr(flushRows.map(() => accountId)), arr(flushRows), arr(flushRows.map(() => now)), arr(flushRows.map(() => now)), `{${flushRows.map(() => JSON.stringify(snapshot)).join(',')}}`],
      true,
    ],
    // The store's statement of this tree: a node-key probe per sample (migration 16 on), a join before.
    'metrics insert (1,000 samples)': [
      `insert into metrics_raw (node_key, at, cpu, mem_used, mem_total, disk_used, disk_total, containers)
       ${
         probes
           ? `select k.node_key, s.at, 1, 1, 1, 1, 1, 0 from unnest($2::text::text[], $3::text::timestamptz[]) as s(agent_id, at)
              cross join lateral (select n.key as node_key from nodes n where n.account_id = $1 and n.id = s.agent_id limit 1) k`
           : `select n.key, s.at, 1, 1, 1, 1, 1, 0 from unnest($2::text::text[], $3::text::timestamptz[]) as s(agent_id, at)
              join nodes n on n.account_id = $1 and n.id = s.agent_id`
       } on conflict do nothing`,
      () => [accountId, arr(batch), arr(batch.map((_, i) => new Date(Date.now() + 3600_000 + i).toISOString()))],
      true,
    ],
  }
  const out = {}
  // A write is timed and explained inside a transaction that is then rolled back.
  const rolledBack = (fn) => sql.begin(async (tx) => Promise.reject({ value: await fn(tx) })).catch((e) => e.value)
  for (const [label, [text, params, write]] of Object.entries(statements)) {
    const runs = []
    for (let i = 0; i < 7; i++) {
      const once = async (exec) => {
        const t0 = performance.now()
        await exec.unsafe(text, params(), { prepare: true })
        return performance.now() - t0
      }
      runs.push(write ? await rolledBack(once) : await once(sql))
    }
    runs.sort((a, b) => a - b)
    const explain = async (exec) => (await exec.unsafe(`explain (analyze, buffers) ${text}`, params())).map((r) => r['QUERY PLAN']).join('\n')
    const plan = write ? await rolledBack(explain) : await explain(sql)
    out[label] = { ms: runs[3], plan }
    if (PLANS) appendFileSync(PLANS, `\n### N = ${n}: ${label} (median of 7: ${runs[3].toFixed(2)} ms)\n${plan}\n`)
  }
  return out
}

export async function run() {
  if (PLANS) writeFileSync(PLANS, `# fleet-scale query plans, ${new Date().toISOString()}\n`)
  const results = []
  const p = (xs, q) => (xs.length ? percentile(xs, q) : NaN)
  const rows = [['window per size', `${SECONDS} s, commands at most ${RATE}/s one at a time, agents report every ${REPORT_MS / 1000} s, ${PER_MIDTIER} agents per synthetic mid-tier`]]
  for (const n of SIZES) {
    const r = await measure(n)
    results.push(r)
    const at = `[${r.n}]`
    const before = rows.length
    rows.push(
      [`${at} registered in`, `${(r.registerMs / 1000).toFixed(1)} s`],
      [`${at} command RTT p50 / p99 ms`, `${p(r.times, 50).toFixed(1)} / ${p(r.times, 99).toFixed(1)} (${r.times.length} ok${r.failed ? `, ${r.failed} FAILED` : ''})`],
      [`${at} batch ack p50 / p99 ms`, `${p(r.acks, 50).toFixed(0)} / ${p(r.acks, 99).toFixed(0)} (${r.acks.length} batches, ${r.samples} samples${r.batchFailures ? `, ${r.batchFailures} FAILED` : ''}, ${r.buffered} left buffered)`],
      [`${at} samples/s stored`, (r.samples / (r.windowMs / 1000)).toFixed(0)],
      [`${at} hub CPU`, `${(r.hubCpu * 100).toFixed(0)} % of a core`],
      ...['nodes', 'node_reports']
        .filter((table) => r.tables[table])
        .map((table) => {
          const [now, then] = [r.tables[table], r.tableBefore[table]]
          return [`${at} ${table}: updates / HOT in window`, `${now.n_tup_upd - then.n_tup_upd} / ${now.n_tup_hot_upd - then.n_tup_hot_upd}; ${now.n_dead_tup} dead rows, ${(now.bytes / 2 ** 20).toFixed(1)} MiB`]
        }),
      ...Object.entries(r.queries).map(([label, q]) => [`${at} ${label}`, `${q.ms.toFixed(2)} ms`]),
    )
    // A 40,000-agent run takes a while: each size's figures are shown as soon as they are in.
    for (const [label, value] of rows.slice(before)) console.error(`  ${label.padEnd(48)} ${value}`)
  }
  const base = results[0]
  const ratio = []
  for (const r of results.slice(1)) {
    ratio.push(
      { label: `command p50 at ${r.n} / at ${base.n}`, value: p(r.times, 50) / p(base.times, 50), target: r.n === 40_000 ? '<= 1.5' : '(report)' },
      { label: `command p99 at ${r.n} / at ${base.n}`, value: p(r.times, 99) / p(base.times, 99), target: r.n === 40_000 ? '<= 1.5' : '(report)' },
    )
  }
  for (const r of results) ratio.push({ label: `batch ack p99 at ${r.n}, seconds`, value: p(r.acks, 99) / 1000, target: '<= 1' })
  return { rows, ratio }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(48)} ${value}`)
  for (const r of result.ratio) console.log(`  ${('ratio: ' + r.label).padEnd(48)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
