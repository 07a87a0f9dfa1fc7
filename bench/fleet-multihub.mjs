// Ingest over 2 hubs and 2 mid-tiers: simulated agents on the real protocol -> two real mid-tier
// processes, each given both hub URLs (the first prefers hub 1, the second hub 2) -> two hub processes
// on one PostgreSQL schema -> rows in metrics_raw. Phase "2 hubs" measures with both hubs up; then hub 2
// is killed (-9), its mid-tier moves to hub 1, and phase "1 hub" measures the same offered load through
// one hub. The same-run baseline is a raw `postgres` COPY in 1,000-row statements, alternating with
// thresh round by round. The offered rate is set above what the machine stores, so rows/s is the
// ceiling. Needs `npm run build` and PostgreSQL (THRESH_TEST_DATABASE_URL, default the local `test` db).
// MULTIHUB_AGENTS (1000, split over the mid-tiers), MULTIHUB_REPORT_MS (50), MULTIHUB_SECONDS (10),
// MULTIHUB_ROUNDS (3 per phase) tune a run.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import postgres from 'postgres'
import { sleep, startAgents, startMidtier } from './fleet-support.mjs'
import { rawCopy, startHub } from './hub-fleet.mjs'

export const name = 'ingest over 2 hubs and 2 mid-tiers (each mid-tier given both hubs) vs COPY, 2 hubs vs 1'
const databaseUrl = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const AGENTS = Number(process.env.MULTIHUB_AGENTS ?? 1000)
const REPORT_MS = Number(process.env.MULTIHUB_REPORT_MS ?? 50)
const SECONDS = Number(process.env.MULTIHUB_SECONDS ?? 10)
const ROUNDS = Number(process.env.MULTIHUB_ROUNDS ?? 3)
const COPY_ROWS = 100_000

const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks (100/s)
}

export async function run() {
  const schema = `thresh_bench_mh_${randomBytes(5).toString('hex')}`
  const { noDelaySockets } = await import('../dist/plugins/storage-postgres/postgres-executor.js')
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, socket: noDelaySockets(connect) })
  const hub1 = await startHub(schema)
  const hub2 = await startHub(schema)
  const midKey = (await (await fetch(`${hub1.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${hub1.token}` }, body: JSON.stringify({ type: 'midtier', name: 'bench-mid' }) })).json()).key
  // Each mid-tier prefers the first hub of its list: one on each hub while both are up.
  const preference = process.env.THRESH_HUB_PREFERENCE
  process.env.THRESH_HUB_PREFERENCE = 'first'
  const mids = [await startMidtier(`${hub1.url},${hub2.url}`, midKey), await startMidtier(`${hub2.url},${hub1.url}`, midKey)]
  if (preference === undefined) delete process.env.THRESH_HUB_PREFERENCE
  else process.env.THRESH_HUB_PREFERENCE = preference
  const half = Math.ceil(AGENTS / 2)
  const sims = [
    await startAgents({ mode: 'signalr', url: mids[0].url, key: hub1.key, count: half, prefix: 'mha', reportMs: REPORT_MS }),
    await startAgents({ mode: 'signalr', url: mids[1].url, key: hub1.key, count: AGENTS - half, prefix: 'mhb', reportMs: REPORT_MS }),
  ]
  const count = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".metrics_raw`))[0].n)
  const sum = async (metric) => (await Promise.all(mids.map((m) => m.metric(metric).then((v) => v || 0)))).reduce((a, b) => a + b, 0)
  const drained = async () => {
    for (let i = 0; i < 600 && (await sum('midtier_metrics_buffered')) > 0; i++) await sleep(100)
  }
  const phases = []
  const measure = async (label, hubs) => {
    const rounds = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sims) s.pause()
      await drained()
      const copyRate = await rawCopy(sql, schema, COPY_ROWS, 1000, AGENTS)
      for (const s of sims) s.resume()
      await sleep(2000)
      const rows0 = await count()
      const cpu0 = hubs.map((h) => ticks(h.proc.pid))
      const t0 = performance.now()
      await sleep(SECONDS * 1000)
      const stored = (await count()) - rows0
      const seconds = (performance.now() - t0) / 1000
      rounds.push({ copyRate, threshRate: stored / seconds, hubUs: hubs.map((h, i) => ((ticks(h.proc.pid) - cpu0[i]) * 10_000) / Math.max(1, stored)) })
    }
    phases.push({ label, rounds })
  }
  try {
    const nodes = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".nodes`))[0].n)
    for (let i = 0; i < 600 && (await nodes()) < AGENTS; i++) await sleep(500)
    await sleep(3000)
    await measure('2 hubs', [hub1, hub2])
    // Hub 2 dies: its mid-tier moves to hub 1, the agents stay where they are.
    hub2.proc.kill('SIGKILL')
    const connected = () => mids[1].metric('midtier_hub_connected').catch((error) => {
      if (mids[1].proc.exitCode !== null || mids[1].proc.signalCode !== null) throw new Error(`the mid-tier exited after hub 2 died (${mids[1].proc.exitCode ?? mids[1].proc.signalCode})`)
      return Number.NaN // a kept-alive socket the mid-tier closed just then: ask again
    })
    for (let i = 0; i < 600 && (await connected()) !== 1; i++) await sleep(100)
    await sleep(3000)
    await measure('1 hub', [hub1])
  } finally {
    for (const s of sims) await s.stop()
    for (const m of mids) await m.kill()
    for (const hub of [hub1, hub2]) {
      if (hub.proc.exitCode === null) hub.proc.kill('SIGTERM')
      await new Promise((resolve) => (hub.proc.exitCode !== null || hub.proc.signalCode !== null ? resolve() : hub.proc.once('exit', resolve)))
    }
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
  }
  const k = (n) => `${Math.round(n / 100) / 10}k`
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const rows = [['agents, offered rate', `${AGENTS} over 2 mid-tiers, each every ${REPORT_MS} ms = ${k((AGENTS * 1000) / REPORT_MS)} samples/s offered`]]
  for (const phase of phases) {
    rows.push([`${phase.label}: thresh rows/s per round`, phase.rounds.map((r) => k(r.threshRate)).join(', ')])
    rows.push([`${phase.label}: COPY rows/s per round`, phase.rounds.map((r) => k(r.copyRate)).join(', ')])
    rows.push([`${phase.label}: thresh / COPY per round`, phase.rounds.map((r) => (r.threshRate / r.copyRate).toFixed(2)).join(', ')])
    rows.push([`${phase.label}: hub CPU µs per sample`, phase.rounds.map((r) => r.hubUs.map((u) => u.toFixed(1)).join('+')).join(', ')])
  }
  const [two, one] = phases.map((p) => ({ rate: median(p.rounds.map((r) => r.threshRate)), ratio: median(p.rounds.map((r) => r.threshRate / r.copyRate)) }))
  rows.push(['samples/s ceiling 2 hubs / 1 hub', `${k(two.rate)} / ${k(one.rate)}`])
  return {
    rows,
    ratio: [
      { label: 'whole fleet over 2 hubs / COPY (median)', value: two.ratio, target: '>= 0.5' },
      { label: 'ceiling 2 hubs / 1 hub (median)', value: two.rate / one.rate, target: 'report (the machine has 2 cores)' },
    ],
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(44)} ${value}`)
  for (const r of [result.ratio].flat()) console.log(`  ${('ratio: ' + r.label).padEnd(44)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
