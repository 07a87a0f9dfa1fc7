// Metrics ingest through the FleetStore (storage-postgres: one unnest statement per batch, nodes'
// latest samples written back coalesced, that write-back counted) against a raw `postgres` COPY of the same rows into a table of
// the same shape, in the same run; plus the embedded store's rate and the on-disk cost of the series.
// Needs PostgreSQL at THRESH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and `npm run build`.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import postgres from 'postgres'
import { reportSample } from './fleet-support.mjs'

export const name = 'storage: metrics ingest vs raw COPY'

const url = process.env.THRESH_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const NODES = 1000
const BATCHES = 40
// Rounds give a median ratio: on a shared 2-core machine one round can swing 2x either way.
const ROUNDS = 3
const INTERVAL = 30_000

const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]
const rate = (rows, ms) => `${Math.round((rows / ms) * 1000).toLocaleString('en')} rows/s`

function batches(agentIds, start) {
  const out = []
  for (let b = 0; b < BATCHES; b++) {
    const at = new Date(start + b * INTERVAL).toISOString()
    out.push(
      agentIds.map((agentId, i) => reportSample(agentId, at, i, b)),
    )
  }
  return out
}

async function seed(store) {
  const accountId = 'bench-' + randomBytes(4).toString('hex')
  await store.createAccount({ id: accountId, name: 'bench', createdAt: new Date().toISOString() })
  const agentIds = []
  for (let i = 0; i < NODES; i++) {
    const id = `agent-${i}`
    agentIds.push(id)
    await store.upsertNode({ id, accountId, hostname: `host-${i}`, cpuCores: 4, ramTotalGb: 16, diskTotalGb: 100 })
  }
  return { accountId, agentIds }
}

async function ingest(store, accountId, work) {
  const latencies = []
  const t0 = performance.now()
  for (const batch of work) {
    const t = performance.now()
    const stored = await store.appendMetrics(accountId, batch)
    latencies.push(performance.now() - t)
    if (stored !== batch.length) throw new Error(`stored ${stored} of ${batch.length}`)
  }
  await store.flush?.()
  return { ms: performance.now() - t0, latencies }
}

export async function run() {
  const { createPostgresStore } = await import('../dist/plugins/storage-postgres/index.js')
  const { createEmbeddedStore } = await import('../dist/plugins/storage-embedded/index.js')
  const schema = `thresh_bench_${randomBytes(6).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  const rows = []
  let ratio
  const start = Date.now() - ROUNDS * BATCHES * INTERVAL
  try {
    const store = await createPostgresStore({ databaseUrl: url, schema, max: 4 })
    const { accountId, agentIds } = await seed(store)
    const total = NODES * BATCHES * ROUNDS

    // Baseline: COPY the same rows (node key, time, the six values) into a table shaped like metrics_raw.
    // TCP_NODELAY as the store's own connections have it: without it every COPY statement's tail waits
    // for the server's delayed ACK (40 ms), and the baseline measured ~11k rows/s instead of 65-207k.
    const { noDelaySockets } = await import('../dist/plugins/storage-postgres/postgres-executor.js')
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: schema }, socket: noDelaySockets(connect) })
    await sql.unsafe('create table copy_baseline (like metrics_raw including all)')
    const keys = new Map((await sql.unsafe('select id, key from nodes')).map((r) => [r.id, r.key]))
    const copyBatch = async (batch) => {
      let text = ''
      for (const s of batch) {
        text += `${keys.get(s.agentId)}\t${s.timestamp}\t${s.cpuPercent}\t${s.memoryUsedMB}\t${s.memoryTotalMB}\t${s.diskUsedGB}\t${s.diskTotalGB}\t${s.containersRunning}\n`
      }
      const stream = await sql`copy copy_baseline (node_key, at, cpu, mem_used, mem_total, disk_used, disk_total, containers) from stdin`.writable()
      await new Promise((resolve, reject) => {
        stream.on('error', reject)
        stream.on('finish', resolve)
        stream.end(text)
      })
    }
    const storeBatch = async (batch) => {
      const stored = await store.appendMetrics(accountId, batch)
      if (stored !== batch.length) throw new Error(`stored ${stored} of ${batch.length}`)
    }
    // Interleaved batch by batch, alternating which goes first, so both see the same cache and WAL state.
    const copyLatencies = []
    const storeLatencies = []
    const ratios = []
    let copyTotal = 0
    let storeTotal = 0
    for (let round = 0; round < ROUNDS; round++) {
      const work = batches(agentIds, start + round * BATCHES * INTERVAL)
      let copyMs = 0
      let storeMs = 0
      for (const [i, batch] of work.entries()) {
        const steps = i % 2 === 0 ? ['copy', 'store'] : ['store', 'copy']
        for (const step of steps) {
          const t = performance.now()
          await (step === 'copy' ? copyBatch(batch) : storeBatch(batch))
          const took = performance.now() - t
          if (step === 'copy') {
            copyLatencies.push(took)
            copyMs += took
          } else {
            storeLatencies.push(took)
            storeMs += took
          }
        }
      }
      // The coalesced write-back of nodes' latest samples is part of the store's work: count it.
      const f0 = performance.now()
      await store.flush()
      storeMs += performance.now() - f0
      ratios.push(copyMs / storeMs)
      copyTotal += copyMs
      storeTotal += storeMs
    }
    await sql.end()

    rows.push(['rounds × batches × samples', `${ROUNDS} × ${BATCHES} × ${NODES}`])
    rows.push(['raw COPY (baseline)', `${rate(total, copyTotal)}, batch p50 ${p(copyLatencies, 0.5).toFixed(1)} ms, p99 ${p(copyLatencies, 0.99).toFixed(1)} ms`])
    rows.push(['store.appendMetrics (postgres)', `${rate(total, storeTotal)}, batch p50 ${p(storeLatencies, 0.5).toFixed(1)} ms, p99 ${p(storeLatencies, 0.99).toFixed(1)} ms`])
    rows.push(['ratio per round', ratios.map((r) => r.toFixed(2)).join(', ')])
    ratio = { label: 'appendMetrics / raw COPY (median)', value: p(ratios, 0.5), target: '>= 0.5' }

    // Rollup cost for the hour just written, and bytes per row of each resolution.
    const m0 = performance.now()
    const maintained = await store.maintainMetrics(new Date(start + ROUNDS * BATCHES * INTERVAL))
    rows.push(['maintainMetrics (rollup)', `${(performance.now() - m0).toFixed(0)} ms for ${maintained.rolledUp} buckets`])
    const sized = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: schema } })
    // Fill the 15-minute series with a day of 1,000 nodes (varying values, so compression is not
    // flattered) to measure its cost per bucket at a realistic size.
    await sized.unsafe(`insert into metrics_15m_day
      select n, 1, array_fill(30::int2, array[96]),
        (select array_agg((random() * 100)::real) from generate_series(1, 96) where n > 0),
        (select array_agg((random() * 100)::real) from generate_series(1, 96) where n > 0),
        (select array_agg((4000 + random() * 1000)::real) from generate_series(1, 96) where n > 0),
        array_fill(16000::real, array[96]),
        (select array_agg((40 + random())::real) from generate_series(1, 96) where n > 0),
        array_fill(100::real, array[96]),
        (select array_agg((random() * 5)::real) from generate_series(1, 96) where n > 0)
      from generate_series(1, ${NODES}) n on conflict do nothing`)
    await sized.unsafe('vacuum analyze metrics_raw, metrics_15m_day')
    const [size] = await sized.unsafe(`select
      pg_total_relation_size('metrics_raw')::float8 / greatest(1, (select count(*) from metrics_raw)) as raw,
      pg_total_relation_size('metrics_1m')::float8 / greatest(1, (select count(*) from metrics_1m)) as minute,
      pg_total_relation_size('metrics_15m_day')::float8 / greatest(1, 96 * (select count(*) from metrics_15m_day)) as quarter`)
    await sized.end()
    const gb = (n) => `${(n / 1e9).toFixed(2)} GB`
    const rawRows = NODES * 2880
    const minuteRows = NODES * 7 * 1440
    const yearRows = NODES * 365 * 96
    rows.push(['bytes per point raw, 1m, 15m (+index)', `${size.raw.toFixed(0)}, ${size.minute.toFixed(0)}, ${size.quarter.toFixed(0)}`])
    rows.push(['1,000 nodes at 30 s, defaults', `raw 24 h ${gb(rawRows * size.raw)} + 1m 7 d ${gb(minuteRows * size.minute)} + 15m 90 d ${gb((yearRows * size.quarter * 90) / 365)}`])
    rows.push(['1,000 nodes, a year at 15m', gb(yearRows * size.quarter + rawRows * size.raw + minuteRows * size.minute)])
    await store.close()

    // The embedded store (PGlite) on the same work, smaller, for its rate.
    const dir = await mkdtemp(join(tmpdir(), 'thresh-bench-embedded-'))
    try {
      const embedded = await createEmbeddedStore({ path: join(dir, 'db') })
      const seeded = await seed(embedded)
      const small = batches(seeded.agentIds, start).slice(0, 10)
      const e = await ingest(embedded, seeded.accountId, small)
      rows.push(['store.appendMetrics (embedded)', `${rate(NODES * small.length, e.ms)}, batch p99 ${p(e.latencies, 0.99).toFixed(1)} ms`])
      await embedded.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  } finally {
    await admin.unsafe(`drop schema if exists "${schema}" cascade`)
    await admin.end()
  }
  return { rows, ratio }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(36)} ${value}`)
  console.log(`  ${('ratio: ' + result.ratio.label).padEnd(36)} ${result.ratio.value.toFixed(2)}  (target ${result.ratio.target})`)
  process.exit(0)
}
