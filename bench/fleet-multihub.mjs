// Ingest over 3, then 2, then 1 hub: simulated agents on the real protocol -> three real mid-tier
// processes, each given all three hub URLs in a rotated order (mid-tier i lists hub i first and prefers
// it) -> three hub processes on one PostgreSQL schema -> rows in metrics_raw. Phase "3 hubs" measures
// with every hub up; then hub 3 is killed (-9) and its mid-tier moves to the next hub of its list, phase
// "2 hubs"; then hub 2 is killed the same way, phase "1 hub". The offered load is the same throughout.
// The same-run baseline is a raw `postgres` COPY in 1,000-row statements, alternating with thresh round
// by round. The offered rate is set above what the machine stores, so rows/s is the ceiling; the growth
// is ceiling(2 hubs) / ceiling(1 hub) and ceiling(3 hubs) / ceiling(1 hub). Needs `npm run build` and
// PostgreSQL (THRESH_TEST_DATABASE_URL, default the local `test` db). MULTIHUB_AGENTS (1000, split over
// the mid-tiers), MULTIHUB_REPORT_MS (50), MULTIHUB_SECONDS (10), MULTIHUB_ROUNDS (3 per phase) tune a run.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import postgres from 'postgres'
import { sleep, startAgents, startMidtier } from './fleet-support.mjs'
import { rawCopy, startHub } from './hub-fleet.mjs'

export const name = 'ingest over 3 hubs and 3 mid-tiers (each mid-tier given all hubs) vs COPY, then 2 hubs, then 1'
const databaseUrl = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const HUBS = 3
const AGENTS = Number(process.env.MULTIHUB_AGENTS ?? 1000)
const REPORT_MS = Number(process.env.MULTIHUB_REPORT_MS ?? 50)
const SECONDS = Number(process.env.MULTIHUB_SECONDS ?? 10)
const ROUNDS = Number(process.env.MULTIHUB_ROUNDS ?? 3)
const COPY_ROWS = 100_000

const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks (100/s)
}
const alive = (proc) => proc.exitCode === null && proc.signalCode === null

export async function run() {
  const schema = `thresh_bench_mh_${randomBytes(5).toString('hex')}`
  const { noDelaySockets } = await import('../dist/plugins/storage-postgres/postgres-executor.js')
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, socket: noDelaySockets(connect) })
  const hubs = []
  const mids = []
  const sims = []
  const phases = []
  const count = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".metrics_raw`))[0].n)
  // A mid-tier's /metrics, asked again when a kept-alive socket it closed just then resets (ECONNRESET
  // under load); a mid-tier that exited fails the run.
  const metric = async (mid, metricName) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await mid.metric(metricName)
      } catch (error) {
        if (!alive(mid.proc)) throw new Error(`mid-tier ${mids.indexOf(mid) + 1} exited (${mid.proc.exitCode ?? mid.proc.signalCode}): ${mid.output()}`)
        if (attempt === 5) throw error
        await sleep(100)
      }
    }
  }
  const sum = async (metricName) => (await Promise.all(mids.map((m) => metric(m, metricName).then((v) => v || 0)))).reduce((a, b) => a + b, 0)
  const drained = async () => {
    for (let i = 0; i < 600 && (await sum('midtier_metrics_buffered')) > 0; i++) await sleep(100)
  }
  const measure = async (label, up) => {
    const rounds = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of sims) s.pause()
      await drained()
      const copyRate = await rawCopy(sql, schema, COPY_ROWS, 1000, AGENTS)
      for (const s of sims) s.resume()
      await sleep(2000)
      const rows0 = await count()
      const cpu0 = up.map((h) => ticks(h.proc.pid))
      const t0 = performance.now()
      await sleep(SECONDS * 1000)
      const stored = (await count()) - rows0
      const seconds = (performance.now() - t0) / 1000
      rounds.push({ copyRate, threshRate: stored / seconds, hubUs: up.map((h, i) => ((ticks(h.proc.pid) - cpu0[i]) * 10_000) / Math.max(1, stored)) })
    }
    phases.push({ label, rounds })
  }
  /** Hub `index + 1` dies (-9): its mid-tier moves on down its list, the agents stay where they are. */
  const failOver = async (index) => {
    const mid = mids[index]
    hubs[index].proc.kill('SIGKILL')
    await sleep(500) // long enough for the mid-tier to notice, so a 1 below is the next hub
    for (let i = 0; i < 600 && (await metric(mid, 'midtier_hub_connected')) !== 1; i++) await sleep(100)
    await sleep(3000)
  }
  try {
    for (let i = 0; i < HUBS; i++) hubs.push(await startHub(schema))
    const midKey = (await (await fetch(`${hubs[0].url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${hubs[0].token}` }, body: JSON.stringify({ type: 'midtier', name: 'bench-mid' }) })).json()).key
    // Mid-tier i lists hub i first and prefers it (one mid-tier on each hub while all are up); when its
    // hub dies it moves to the next hub of its list.
    const preference = process.env.THRESH_HUB_PREFERENCE
    process.env.THRESH_HUB_PREFERENCE = 'first'
    try {
      for (let i = 0; i < HUBS; i++) {
        const urls = hubs.map((_, j) => hubs[(i + j) % HUBS].url)
        mids.push(await startMidtier(urls.join(','), midKey))
      }
    } finally {
      if (preference === undefined) delete process.env.THRESH_HUB_PREFERENCE
      else process.env.THRESH_HUB_PREFERENCE = preference
    }
    for (let i = 0; i < HUBS; i++) {
      const share = Math.floor(AGENTS / HUBS) + (i < AGENTS % HUBS ? 1 : 0)
      sims.push(await startAgents({ mode: 'signalr', url: mids[i].url, key: hubs[0].key, count: share, prefix: `mh${i}`, reportMs: REPORT_MS }))
    }
    const nodes = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".nodes`))[0].n)
    for (let i = 0; i < 600 && (await nodes()) < AGENTS; i++) await sleep(500)
    await sleep(3000)
    for (let up = HUBS; up >= 1; up--) {
      if (up < HUBS) await failOver(up)
      await measure(up === 1 ? '1 hub' : `${up} hubs`, hubs.slice(0, up))
    }
  } finally {
    for (const s of sims) await s.stop()
    for (const m of mids) await m.kill()
    for (const hub of hubs) {
      if (alive(hub.proc)) hub.proc.kill('SIGTERM')
      await new Promise((resolve) => (!alive(hub.proc) ? resolve() : hub.proc.once('exit', resolve)))
    }
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
  }
  const k = (n) => `${Math.round(n / 100) / 10}k`
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const rows = [['agents, offered rate', `${AGENTS} over ${HUBS} mid-tiers, each every ${REPORT_MS} ms = ${k((AGENTS * 1000) / REPORT_MS)} samples/s offered`]]
  for (const phase of phases) {
    rows.push([`${phase.label}: thresh rows/s per round`, phase.rounds.map((r) => k(r.threshRate)).join(', ')])
    rows.push([`${phase.label}: COPY rows/s per round`, phase.rounds.map((r) => k(r.copyRate)).join(', ')])
    rows.push([`${phase.label}: thresh / COPY per round`, phase.rounds.map((r) => (r.threshRate / r.copyRate).toFixed(2)).join(', ')])
    rows.push([`${phase.label}: hub CPU µs per sample`, phase.rounds.map((r) => r.hubUs.map((u) => u.toFixed(1)).join('+')).join(', ')])
  }
  // phases[0] is 3 hubs, phases[2] is 1 hub.
  const ceilings = phases.map((p) => ({ label: p.label, rate: median(p.rounds.map((r) => r.threshRate)), ratio: median(p.rounds.map((r) => r.threshRate / r.copyRate)) }))
  const one = ceilings[ceilings.length - 1]
  rows.push([`samples/s ceiling ${ceilings.map((c) => c.label.split(' ')[0]).join(' / ')} hubs`, ceilings.map((c) => k(c.rate)).join(' / ')])
  rows.push(['growth 2/1, 3/1 hubs (median ceilings)', `${(ceilings[1].rate / one.rate).toFixed(2)}, ${(ceilings[0].rate / one.rate).toFixed(2)}`])
  return {
    rows,
    ratio: [
      { label: `whole fleet over ${HUBS} hubs / COPY (median)`, value: ceilings[0].ratio, target: '>= 0.5' },
      { label: 'ceiling 2 hubs / 1 hub (median)', value: ceilings[1].rate / one.rate, target: 'report (the machine has 2 cores)' },
      { label: 'ceiling 3 hubs / 1 hub (median)', value: ceilings[0].rate / one.rate, target: 'report (the machine has 2 cores)' },
    ],
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(44)} ${value}`)
  for (const r of [result.ratio].flat()) console.log(`  ${('ratio: ' + r.label).padEnd(44)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
