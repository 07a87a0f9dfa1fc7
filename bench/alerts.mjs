// Alerting on a big fleet: evaluating the alert rules for 10,000 nodes (five rules per account, 30,000
// containers tracked from their events) as a share of one core at the default 10 s interval, and the
// hub memory it adds; and fleet events ingest through the PostgreSQL store against a raw COPY of the
// same rows into a table of the same shape, in the same run (as storage-ingest.mjs does for metrics).
// Needs PostgreSQL at THRESH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), `npm run build` and --expose-gc.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

export const name = 'alerts: rule evaluation for 10,000 nodes, events ingest vs raw COPY'

const url = process.env.THRESH_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const ACCOUNTS = 10
const NODES_PER_ACCOUNT = 1000
const CONTAINERS_PER_NODE = 3
const TICKS = 10
const INTERVAL_MS = 10_000
const EVENT_BATCHES = 30
const EVENTS_PER_BATCH = 1000
const ROUNDS = 3

const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]
const rate = (rows, ms) => `${Math.round((rows / ms) * 1000).toLocaleString('en')} rows/s`
const gc = () => globalThis.gc?.()
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const cpuMs = (before) => {
  const d = process.cpuUsage(before)
  return (d.user + d.system) / 1000
}
const quiet = { info() {}, warn() {}, debug() {}, error() {} }

async function evaluation(rows) {
  const { createMemoryStore } = await import('../dist/plugins/storage-memory/index.js')
  const { createEvaluator, createFleetState } = await import('../dist/plugins/hub-alerts/index.js')
  const store = createMemoryStore()
  const now = Date.now()
  for (let a = 0; a < ACCOUNTS; a++) {
    const accountId = `acct-${a}`
    await store.createAccount({ id: accountId, name: accountId, createdAt: new Date().toISOString() })
    const samples = []
    for (let n = 0; n < NODES_PER_ACCOUNT; n++) {
      const id = `node-${a}-${n}`
      await store.upsertNode({ id, accountId, hostname: `host-${a}-${n}`, cpuCores: 4, ramTotalGb: 16, diskTotalGb: 100 })
      samples.push({ agentId: id, timestamp: new Date(now - 1000).toISOString(), cpuPercent: (n * 7) % 100, memoryUsedMB: 4000 + n, memoryTotalMB: 16000, diskUsedGB: 40, diskTotalGB: 100, containersRunning: 3 })
    }
    await store.appendMetrics(accountId, samples)
    const rule = (kind, extra = {}) => store.createAlertRule({ id: `${accountId}-${kind}`, accountId, name: kind, kind, scopeType: 'account', durationMs: 60_000, channelIds: [], enabled: true, createdAt: new Date().toISOString(), ...extra })
    await rule('node_offline')
    await rule('cpu', { threshold: 90 })
    await rule('memory', { threshold: 90 })
    await rule('disk', { threshold: 90 })
    await rule('container_stopped')
  }

  // Baseline in the same run: only reading what the evaluation reads (every account's nodes and silences).
  const baseline = []
  for (let t = 0; t < TICKS; t++) {
    const c0 = process.cpuUsage()
    for (let a = 0; a < ACCOUNTS; a++) {
      await store.listNodes(`acct-${a}`)
      await store.listSilences(`acct-${a}`)
    }
    baseline.push(cpuMs(c0))
  }

  const before = heap()
  const fleet = createFleetState()
  for (let a = 0; a < ACCOUNTS; a++) {
    for (let n = 0; n < NODES_PER_ACCOUNT; n++) {
      for (let c = 0; c < CONTAINERS_PER_NODE; c++) {
        fleet.observe(`acct-${a}`, { at: new Date(now - 5000).toISOString(), kind: 'container_start', severity: 'info', nodeId: `node-${a}-${n}`, message: '', details: { container: `app-${c}` } })
      }
    }
  }
  let recorded = 0
  const evaluator = createEvaluator({ store, fleet, logger: quiet, record: () => recorded++, notify: async () => {} })
  const costs = []
  let observed = 0
  for (let t = 0; t < TICKS; t++) {
    const c0 = process.cpuUsage()
    observed = await evaluator.tick(now + t * INTERVAL_MS)
    costs.push(cpuMs(c0))
  }
  const extra = heap() - before
  const median = p(costs, 0.5)
  rows.push(['nodes × rules, containers', `${ACCOUNTS * NODES_PER_ACCOUNT} × 5 rules, ${ACCOUNTS * NODES_PER_ACCOUNT * CONTAINERS_PER_NODE} containers (${observed} observations per tick)`])
  rows.push(['one evaluation (CPU time)', `p50 ${median.toFixed(0)} ms, p99 ${p(costs, 0.99).toFixed(0)} ms`])
  rows.push(['share of a core at 10 s', `${((median / INTERVAL_MS) * 100).toFixed(2)} %`])
  rows.push(['reading nodes and silences alone', `p50 ${p(baseline, 0.5).toFixed(0)} ms`])
  rows.push(['extra hub memory (state + tracks)', `${(extra / 2 ** 20).toFixed(1)} MiB (${evaluator.tracked} tracked, ${recorded} events)`])
  return { label: 'evaluation / reading the nodes it needs (median)', value: median / Math.max(0.01, p(baseline, 0.5)), target: '<= 10' }
}

async function ingest(rows) {
  const { createPostgresStore } = await import('../dist/plugins/storage-postgres/index.js')
  const schema = `thresh_bench_${randomBytes(6).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const store = await createPostgresStore({ databaseUrl: url, schema, max: 4 })
    const accountId = 'bench-' + randomBytes(4).toString('hex')
    await store.createAccount({ id: accountId, name: 'bench', createdAt: new Date().toISOString() })
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: schema } })
    await sql.unsafe('create table copy_events (like events including all)')
    const start = Date.now() - 3_600_000
    const work = (round) =>
      Array.from({ length: EVENT_BATCHES }, (_, b) =>
        Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({
          at: new Date(start + round * 100_000 + b * 1000 + i).toISOString(),
          kind: i % 3 === 0 ? 'container_die' : 'container_start',
          severity: 'info',
          nodeId: `node-${i % 500}`,
          stack: `stack-${i % 50}`,
          message: `app-${i} exited with code 137 on host-${i % 500}.`,
          details: { container: `app-${i}`, exitCode: 137 },
        })),
      )
    const esc = (v) => String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n')
    const copyBatch = async (batch) => {
      let text = ''
      for (const e of batch) text += `${accountId}\t${e.at}\t${e.kind}\t${e.severity}\t${e.nodeId}\t${e.stack}\t${esc(e.message)}\t${esc(JSON.stringify(e.details))}\n`
      const stream = await sql`copy copy_events (account_id, at, kind, severity, node_id, stack, message, details) from stdin`.writable()
      await new Promise((resolve, reject) => {
        stream.on('error', reject)
        stream.on('finish', resolve)
        stream.end(text)
      })
    }
    const ratios = []
    const copyLat = []
    const storeLat = []
    let copyTotal = 0
    let storeTotal = 0
    for (let round = 0; round < ROUNDS; round++) {
      let copyMs = 0
      let storeMs = 0
      for (const [i, batch] of work(round).entries()) {
        for (const step of i % 2 === 0 ? ['copy', 'store'] : ['store', 'copy']) {
          const t = performance.now()
          if (step === 'copy') await copyBatch(batch)
          else if ((await store.appendEvents(accountId, batch)).length !== batch.length) throw new Error('events were lost')
          const took = performance.now() - t
          if (step === 'copy') (copyMs += took), copyLat.push(took)
          else (storeMs += took), storeLat.push(took)
        }
      }
      ratios.push(copyMs / storeMs)
      copyTotal += copyMs
      storeTotal += storeMs
    }
    const total = ROUNDS * EVENT_BATCHES * EVENTS_PER_BATCH
    const [bytes] = await sql.unsafe(`select pg_total_relation_size('events')::float8 as n, (select count(*) from events)::float8 as rows`)
    await sql.end()
    await store.close()
    rows.push(['events: rounds × batches × events', `${ROUNDS} × ${EVENT_BATCHES} × ${EVENTS_PER_BATCH}`])
    rows.push(['events: raw COPY (baseline)', `${rate(total, copyTotal)}, batch p50 ${p(copyLat, 0.5).toFixed(1)} ms`])
    rows.push(['events: store.appendEvents (postgres)', `${rate(total, storeTotal)}, batch p50 ${p(storeLat, 0.5).toFixed(1)} ms`])
    rows.push(['events: bytes per event on disk', `${(bytes.n / bytes.rows).toFixed(0)} B (table and its three indexes)`])
    return { label: 'appendEvents / raw COPY (median)', value: p(ratios, 0.5), target: '>= 0.5' }
  } finally {
    await admin.unsafe(`drop schema if exists ${schema} cascade`).catch(() => {})
    await admin.end()
  }
}

export async function run() {
  const rows = []
  const evaluationRatio = await evaluation(rows)
  const ingestRatio = await ingest(rows)
  return { rows, ratio: [evaluationRatio, ingestRatio] }
}
