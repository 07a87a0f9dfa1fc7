// The host figures' history (load, swap, network and disk I/O per device, temperatures) on PostgreSQL:
// what storing them adds to metrics ingest (the same batches with and without the figures, interleaved,
// same run) and what a point costs on disk at each resolution (raw, 1-minute, 15-minute).
// Needs PostgreSQL at THRESH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and `npm run build`.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { reportSample } from './fleet-support.mjs'

export const name = 'storage: host figures history'

const url = process.env.THRESH_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const NODES = 500
const BATCHES = 30
const ROUNDS = Number(process.env.THRESH_BENCH_ROUNDS ?? 3)
const INTERVAL = 30_000

const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]

/** A typical small server: two interfaces, two disks, three sensors (16 figures), varying so nothing compresses for free. */
function sample(agentId, at, i, b, withFigures) {
  const base = reportSample(agentId, new Date(at).toISOString(), i, b)
  if (!withFigures) return base
  const r = () => Math.random()
  return {
    ...base,
    loadAverage: [r() * 4, r() * 4, r() * 4],
    swapUsedMB: Math.round(r() * 512),
    swapTotalMB: 2048,
    network: [
      { interface: 'eth0', rxBytesPerSec: Math.round(r() * 5e6), txBytesPerSec: Math.round(r() * 1e6) },
      { interface: 'docker0', rxBytesPerSec: Math.round(r() * 1e5), txBytesPerSec: Math.round(r() * 1e5) },
    ],
    diskIo: [
      { device: 'nvme0n1', readBytesPerSec: Math.round(r() * 2e7), writeBytesPerSec: Math.round(r() * 2e7) },
      { device: 'sda', readBytesPerSec: Math.round(r() * 1e6), writeBytesPerSec: Math.round(r() * 1e6) },
    ],
    temperatures: [
      { sensor: 'coretemp Package id 0', celsius: 40 + Math.round(r() * 300) / 10 },
      { sensor: 'nvme Composite', celsius: 35 + Math.round(r() * 200) / 10 },
      { sensor: 'acpitz', celsius: 30 + Math.round(r() * 100) / 10 },
    ],
  }
}

async function seed(store, label) {
  const accountId = `bench-${label}-${randomBytes(4).toString('hex')}`
  await store.createAccount({ id: accountId, name: label, createdAt: new Date().toISOString() })
  const agentIds = []
  for (let i = 0; i < NODES; i++) {
    agentIds.push(`${label}-${i}`)
    await store.upsertNode({ id: `${label}-${i}`, accountId, hostname: `${label}-${i}`, cpuCores: 4, ramTotalGb: 16, diskTotalGb: 100 })
  }
  return { accountId, agentIds }
}

export async function run() {
  const { createPostgresStore } = await import('../dist/plugins/storage-postgres/index.js')
  const schema = `thresh_bench_${randomBytes(6).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  const rows = []
  let ratio
  try {
    const store = await createPostgresStore({ databaseUrl: url, schema, max: 4 })
    const plain = await seed(store, 'plain')
    const host = await seed(store, 'host')
    const start = Math.floor((Date.now() - 2 * 3600_000) / 900_000) * 900_000
    const ratios = []
    let plainMs = 0
    let hostMs = 0
    for (let round = 0; round < ROUNDS; round++) {
      let a = 0
      let h = 0
      for (let b = 0; b < BATCHES; b++) {
        const at = start + (round * BATCHES + b) * INTERVAL
        const steps = b % 2 === 0 ? ['plain', 'host'] : ['host', 'plain']
        for (const step of steps) {
          const fleet = step === 'plain' ? plain : host
          const batch = fleet.agentIds.map((id, i) => sample(id, at, i, b, step === 'host'))
          const t = performance.now()
          await store.appendMetrics(fleet.accountId, batch)
          if (step === 'plain') a += performance.now() - t
          else h += performance.now() - t
        }
      }
      ratios.push(a / h)
      plainMs += a
      hostMs += h
    }
    await store.flush?.()
    const total = NODES * BATCHES * ROUNDS
    rows.push(['rounds × batches × samples', `${ROUNDS} × ${BATCHES} × ${NODES}, 16 host figures a sample`])
    rows.push(['appendMetrics without figures', `${Math.round((total / plainMs) * 1000).toLocaleString('en')} samples/s`])
    rows.push(['appendMetrics with figures', `${Math.round((total / hostMs) * 1000).toLocaleString('en')} samples/s`])
    rows.push(['ratio per round', ratios.map((r) => r.toFixed(2)).join(', ')])
    ratio = { label: 'ingest with figures / without (median)', value: p(ratios, 0.5), target: 'none yet, recorded' }

    const end = start + ROUNDS * BATCHES * INTERVAL
    const m0 = performance.now()
    const maintained = await store.maintainMetrics(new Date(end + 60_000))
    rows.push(['maintainMetrics (both fleets)', `${(performance.now() - m0).toFixed(0)} ms for ${maintained.rolledUp} rows`])
    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: schema } })
    await sql.unsafe('vacuum analyze host_metrics_raw, host_metrics_1m, host_metrics_15m, metrics_raw, metrics_1m')
    const [size] = await sql.unsafe(`select
      pg_total_relation_size('host_metrics_raw')::float8 / greatest(1, (select count(*) from host_metrics_raw)) as raw,
      pg_total_relation_size('host_metrics_1m')::float8 / greatest(1, (select count(*) from host_metrics_1m)) as minute,
      pg_total_relation_size('host_metrics_15m')::float8 / greatest(1, (select count(*) from host_metrics_15m)) as quarter,
      pg_total_relation_size('metrics_raw')::float8 / greatest(1, (select count(*) from metrics_raw)) as node_raw`)
    await sql.end()
    rows.push(['host bytes per point raw, 1m, 15m', `${size.raw.toFixed(0)}, ${size.minute.toFixed(0)}, ${size.quarter.toFixed(0)} (+index; node series raw ${size.node_raw.toFixed(0)})`])
    const gb = (n) => `${(n / 1e9).toFixed(2)} GB`
    rows.push(['1,000 nodes at 30 s, defaults', `raw 24 h ${gb(1000 * 2880 * size.raw)} + 1m 7 d ${gb(1000 * 7 * 1440 * size.minute)} + 15m 90 d ${gb(1000 * 90 * 96 * size.quarter)}`])
    await store.close()
  } finally {
    await admin.unsafe(`drop schema if exists "${schema}" cascade`)
    await admin.end()
  }
  return { rows, ratio }
}
