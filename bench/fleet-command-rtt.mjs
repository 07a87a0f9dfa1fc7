// Command round trip hub -> mid-tier -> agent -> hub with a no-op tool (`get_version`), while every
// simulated agent reports metrics: the hub's fleet service sends the command (node lookup, command
// record, dispatch, SignalR to the mid-tier, SignalR to the agent, result back the same way, record
// finished). Three fleets are up at once, each with its own agents, mid-tier and metrics load, and
// commands rotate among them one by one so all are timed under the same background load:
// - a hub on PostgreSQL (the store users run),
// - a hub on the memory store (the same-run baseline for what the database adds),
// - a raw two-hop `ws` relay (the baseline for what thresh's routing adds).
// - cross-hub (issue #17): a second hub on the same PostgreSQL database, which does not hold the
//   PostgreSQL fleet's agents, sends them the same commands; they cross to the holding hub through
//   the commands table and LISTEN/NOTIFY, timed against the holding hub's own round trip.
// Run at a 30 s and a 5 s reporting interval. Needs `npm run build` and PostgreSQL
// (THRESH_TEST_DATABASE_URL). FLEET_BENCH_AGENTS (1000 per fleet), FLEET_BENCH_COMMANDS (1000 per
// fleet and interval), FLEET_BENCH_INTERVALS (30000,5000) scale it.
import { randomBytes } from 'node:crypto'
import { percentile, sleep, startAgents, startHub, startMidtier, startRawRelay } from './fleet-support.mjs'

export const name = 'fleet command round trip: PostgreSQL vs memory store vs raw two-hop ws relay, and across hubs'
const AGENTS = Number(process.env.FLEET_BENCH_AGENTS ?? 1000)
const COMMANDS = Number(process.env.FLEET_BENCH_COMMANDS ?? 1000)
const INTERVALS = (process.env.FLEET_BENCH_INTERVALS ?? '30000,5000').split(',').map(Number)

async function thresh(store, reportMs) {
  const schema = `thresh_bench_rtt_${randomBytes(5).toString('hex')}`
  const hub = await startHub(store === 'postgres' ? { postgres: schema } : {})
  // The other hub on the same database: it holds none of the agents, so its commands cross hubs.
  const peer = store === 'postgres' ? await startHub({ postgres: schema }) : undefined
  const mid = await startMidtier(hub.url, hub.midKey)
  const agents = await startAgents({ mode: 'signalr', url: mid.url, key: hub.liveKey, count: AGENTS, prefix: store, reportMs })
  let failed = 0
  const sendThrough = (via) => async (agent) => {
    const outcome = await via.runTool(agents.ids[agent], 'get_version')
    if (outcome.status !== 'success') failed++
  }
  return {
    hub,
    agents,
    failed: () => failed,
    send: sendThrough(hub),
    sendCrossHub: peer && sendThrough(peer),
    async stop() {
      await agents.stop()
      await mid.kill()
      // The holding hub first: the second stop drops the shared schema.
      await hub.stop()
      await peer?.stop()
    },
  }
}

async function measureAt(reportMs) {
  const relay = await startRawRelay()
  const rawAgents = await startAgents({ mode: 'raw', url: relay.url, count: AGENTS, prefix: 'raw', reportMs })
  const pg = await thresh('postgres', reportMs)
  const memory = await thresh('memory', reportMs)
  try {
    for (const fleet of [pg, memory]) {
      for (let i = 0; i < 120 && (await fleet.hub.online()) < AGENTS; i++) await sleep(500)
    }
    // Every agent has reported at least once at 5 s; at 30 s a sixth of them, spread as a fleet is.
    await sleep(Math.min(reportMs, 6000))
    const fleets = [
      { name: 'raw', send: (agent, i) => relay.send(rawAgents.ids[agent], `raw-${reportMs}-${i}`), times: [] },
      { name: 'memory', send: memory.send, times: [] },
      { name: 'postgres', send: pg.send, times: [] },
      { name: 'cross-hub', send: pg.sendCrossHub, times: [] },
    ]
    for (let i = 0; i < COMMANDS + 100; i++) {
      const agent = Math.floor(Math.random() * AGENTS)
      for (let k = 0; k < fleets.length; k++) {
        const fleet = fleets[(i + k) % fleets.length]
        const started = performance.now()
        await fleet.send(agent, i)
        if (i >= 100) fleet.times.push(performance.now() - started)
      }
    }
    for (const fleet of fleets) fleet.times.sort((a, b) => a - b)
    const [raw, mem, post, cross] = fleets.map((f) => f.times)
    return { raw, mem, post, cross, failed: pg.failed() + memory.failed() }
  } finally {
    await rawAgents.stop()
    relay.stop()
    await pg.stop()
    await memory.stop()
  }
}

export async function run() {
  const rows = [['agents per fleet', `${AGENTS}; ${COMMANDS} commands per fleet and interval, sequential, rotating among the fleets`]]
  const ratio = []
  const p = (xs, q) => percentile(xs, q).toFixed(2)
  for (const reportMs of INTERVALS) {
    const { raw, mem, post, cross, failed } = await measureAt(reportMs)
    const at = `${reportMs / 1000} s`
    rows.push(
      [`[${at}] raw ws relay p50 / p99 ms`, `${p(raw, 50)} / ${p(raw, 99)}`],
      [`[${at}] memory store p50 / p99 ms`, `${p(mem, 50)} / ${p(mem, 99)}`],
      [`[${at}] PostgreSQL p50 / p99 ms`, `${p(post, 50)} / ${p(post, 99)}${failed ? `, ${failed} FAILED` : ''}`],
      [`[${at}] PostgreSQL cross-hub p50 / p99 ms`, `${p(cross, 50)} / ${p(cross, 99)}`],
    )
    ratio.push(
      { label: `[${at}] PostgreSQL p50 / memory p50`, value: percentile(post, 50) / percentile(mem, 50), target: reportMs >= 30_000 ? '<= 2' : '(report)' },
      { label: `[${at}] PostgreSQL p99 / memory p99`, value: percentile(post, 99) / percentile(mem, 99), target: '(report)' },
      { label: `[${at}] memory p50 / raw relay p50`, value: percentile(mem, 50) / percentile(raw, 50), target: '<= 2' },
      { label: `[${at}] PostgreSQL p50 / raw relay p50`, value: percentile(post, 50) / percentile(raw, 50), target: '(report)' },
      { label: `[${at}] cross-hub p50 / holding hub p50`, value: percentile(cross, 50) / percentile(post, 50), target: '<= 1.5' },
      { label: `[${at}] cross-hub p99 / holding hub p99`, value: percentile(cross, 99) / percentile(post, 99), target: '(report)' },
    )
  }
  return { rows, ratio }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  for (const r of result.ratio) console.log(`  ${('ratio: ' + r.label).padEnd(40)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
