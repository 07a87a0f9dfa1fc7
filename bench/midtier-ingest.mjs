// Metrics ingest the way a large fleet sends it: simulated agents on the real protocol (SendMetrics
// with invocation ids, so every sample is answered, and like the agent's outbox one unanswered at a
// time per agent) -> a real mid-tier process (journal, batches of
// 1,000, pipelined to the hub) -> a hub process on PostgreSQL -> rows in metrics_raw. The same-run
// baseline is a raw `postgres` COPY in 1,000-row statements (TCP_NODELAY) into a table shaped like
// metrics_raw, alternating with thresh round by round. Each process's CPU per sample comes from /proc.
// Needs `npm run build` and PostgreSQL (THRESH_TEST_DATABASE_URL, default the local `test` db).
// MIDTIER_INGEST_AGENTS (2000), MIDTIER_INGEST_REPORT_MS (50: each agent's interval, i.e. the offered
// rate is AGENTS * 1000 / REPORT_MS samples/s), MIDTIER_INGEST_SECONDS (15 per round) tune a run;
// MIDTIER_INGEST_PROF=DIR writes CPU profiles (and prints the measured window on their clock), and
// MIDTIER_INGEST_MID_ARGS passes Node flags to the mid-tier (e.g. --import=a-gc-observer.mjs).
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import postgres from 'postgres'
import { sleep, startAgents, startMidtier } from './fleet-support.mjs'
import { rawCopy, startHub } from './hub-fleet.mjs'

export const name = 'ingest through a mid-tier (agents -> mid-tier -> hub -> PostgreSQL) vs COPY'
const databaseUrl = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const AGENTS = Number(process.env.MIDTIER_INGEST_AGENTS ?? 2000)
const REPORT_MS = Number(process.env.MIDTIER_INGEST_REPORT_MS ?? 50)
const SECONDS = Number(process.env.MIDTIER_INGEST_SECONDS ?? 15)
const ROUNDS = Number(process.env.MIDTIER_INGEST_ROUNDS ?? 3)
const COPY_ROWS = 100_000
const PROFILE_DIR = process.env.MIDTIER_INGEST_PROF
if (PROFILE_DIR) process.env.HUB_BENCH_PROF = PROFILE_DIR

const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks (100/s)
}

export async function run() {
  const schema = `thresh_bench_mi_${randomBytes(5).toString('hex')}`
  const { noDelaySockets } = await import('../dist/plugins/storage-postgres/postgres-executor.js')
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, socket: noDelaySockets(connect) })
  const hub = await startHub(schema)
  const midKey = (await (await fetch(`${hub.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${hub.token}` }, body: JSON.stringify({ type: 'midtier', name: 'bench-mid' }) })).json()).key
  const mid = await startMidtier(hub.url, midKey)
  if (process.env.MIDTIER_INGEST_MID_ARGS) {
    await mid.kill()
    await mid.start(process.env.MIDTIER_INGEST_MID_ARGS.split(' '))
  } else if (PROFILE_DIR) {
    // Started again on the same port and home with the profiler on; stopped with SIGTERM so it writes the profile.
    await mid.kill()
    await mid.start(['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`])
  }
  const agents = await startAgents({ ...(PROFILE_DIR ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] } : {}), mode: 'signalr', url: mid.url, key: hub.key, count: AGENTS, prefix: 'mi', reportMs: REPORT_MS, awaitAnswers: true })
  const count = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".metrics_raw`))[0].n)
  const drained = async () => {
    for (let i = 0; i < 600 && (await mid.metric('midtier_metrics_buffered')) > 0; i++) await sleep(100)
  }
  const rounds = []
  try {
    // Every node registered at the hub (samples of a node it does not know yet are not stored), then a warm-up.
    const nodes = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".nodes`))[0].n)
    for (let i = 0; i < 600 && (await nodes()) < AGENTS; i++) await sleep(500)
    await sleep(3000)
    for (let round = 0; round < ROUNDS; round++) {
      agents.pause()
      await drained()
      const copyRate = await rawCopy(sql, schema, COPY_ROWS, 1000, AGENTS)
      agents.resume()
      await sleep(2000)
      const received = async () => (await mid.metric('midtier_metrics_samples_sent_total')) + ((await mid.metric('midtier_metrics_refused_total')) || 0) + (await mid.metric('midtier_metrics_buffered'))
      const in0 = await received()
      const rows0 = await count()
      const cpu0 = { mid: ticks(mid.proc.pid), hub: ticks(hub.proc.pid), sim: ticks(agents.pid) }
      const t0 = performance.now()
      const monotonic0 = process.hrtime.bigint() / 1000n
      await sleep(SECONDS * 1000)
      // The profiles' clock (monotonic µs), to read them for the measured window only.
      if (PROFILE_DIR) console.error(`profile window ${monotonic0} ${process.hrtime.bigint() / 1000n}`)
      const rows1 = await count()
      const in1 = await received()
      const seconds = (performance.now() - t0) / 1000
      const stored = rows1 - rows0
      const cpu = (who, pid) => ((ticks(pid) - cpu0[who]) * 10_000) / Math.max(1, stored) // µs per stored sample
      rounds.push({
        copyRate,
        threshRate: stored / seconds,
        receivedRate: (in1 - in0) / seconds,
        midUs: cpu('mid', mid.proc.pid),
        hubUs: cpu('hub', hub.proc.pid),
        simUs: cpu('sim', agents.pid),
        buffered: await mid.metric('midtier_metrics_buffered'),
        dropped: await mid.metric('midtier_metrics_dropped_total'),
        refused: (await mid.metric('midtier_metrics_refused_total')) || 0,
      })
    }
  } finally {
    await agents.stop()
    if (PROFILE_DIR) {
      mid.proc.kill('SIGTERM')
      await new Promise((resolve) => (mid.proc.exitCode !== null ? resolve() : mid.proc.once('exit', resolve)))
    } else await mid.kill()
    hub.proc.kill('SIGTERM')
    await new Promise((resolve) => (hub.proc.exitCode !== null ? resolve() : hub.proc.once('exit', resolve)))
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
  }
  const ratios = rounds.map((r) => r.threshRate / r.copyRate)
  const k = (n) => `${Math.round(n / 100) / 10}k`
  const range = (xs, f = (x) => x.toFixed(2)) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`
  return {
    rows: [
      ['agents, offered rate', `${AGENTS} every ${REPORT_MS} ms = ${k((AGENTS * 1000) / REPORT_MS)} samples/s offered`],
      ['samples/s the mid-tier took in', rounds.map((r) => k(r.receivedRate)).join(', ')],
      ['thresh rows/s per round', rounds.map((r) => k(r.threshRate)).join(', ')],
      ['COPY 1,000-row statements rows/s', rounds.map((r) => k(r.copyRate)).join(', ')],
      ['ratio per round', ratios.map((r) => r.toFixed(2)).join(', ')],
      ['CPU µs per sample: mid-tier', range(rounds.map((r) => r.midUs), (x) => x.toFixed(1))],
      ['CPU µs per sample: hub', range(rounds.map((r) => r.hubUs), (x) => x.toFixed(1))],
      ['CPU µs per sample: agent simulator', range(rounds.map((r) => r.simUs), (x) => x.toFixed(1))],
      ['mid-tier buffered / dropped / refused by the hub', `${rounds.at(-1).buffered} / ${rounds.at(-1).dropped} / ${rounds.at(-1).refused}`],
    ],
    ratio: { label: 'thresh via mid-tier / COPY (median)', value: [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)], target: '>= 0.5' },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  for (const r of [result.ratio].flat()) console.log(`  ${('ratio: ' + r.label).padEnd(40)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
