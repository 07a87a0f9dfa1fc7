// Command round trip hub -> mid-tier -> agent -> hub with a no-op tool (`get_version`), while every
// simulated agent reports metrics every 5 s: the hub's fleet service sends the command (command record,
// dispatch, SignalR to the mid-tier, SignalR to the agent, result back the same way). The same-run
// baseline is a raw two-hop `ws` relay with its own 10,000 agents and the same metrics load, up at the
// same time; commands alternate between the two so both are timed under the same conditions.
// Needs `npm run build` first. Scale with FLEET_BENCH_AGENTS (default 10000), FLEET_BENCH_COMMANDS (1000).
import { percentile, sleep, startAgents, startHub, startMidtier, startRawRelay } from './fleet-support.mjs'

export const name = 'fleet command round trip vs raw two-hop ws relay'
const AGENTS = Number(process.env.FLEET_BENCH_AGENTS ?? 10000)
const COMMANDS = Number(process.env.FLEET_BENCH_COMMANDS ?? 1000)

/**
 * Sequential round trips to random agents, alternating between the raw relay and thresh command by
 * command, so both see the same machine and the same background load; after a warm-up of 100 each.
 * Returns sorted latencies in ms for each.
 */
async function measure(sendRaw, sendThresh, ids) {
  const raw = []
  const thresh = []
  for (let i = 0; i < COMMANDS + 100; i++) {
    const agent = Math.floor(Math.random() * ids.length)
    for (const [send, times] of i % 2 ? [[sendRaw, raw], [sendThresh, thresh]] : [[sendThresh, thresh], [sendRaw, raw]]) {
      const started = performance.now()
      await send(agent, i)
      if (i >= 100) times.push(performance.now() - started)
    }
  }
  return { raw: raw.sort((a, b) => a - b), thresh: thresh.sort((a, b) => a - b) }
}

export async function run() {
  // Both fleets up at once: each reports every 5 s, and commands alternate between them.
  const relay = await startRawRelay()
  const rawAgents = await startAgents({ mode: 'raw', url: relay.url, count: AGENTS, prefix: 'raw', reportMs: 5000 })
  const hub = await startHub()
  const mid = await startMidtier(hub.url, hub.midKey)
  const agents = await startAgents({ mode: 'signalr', url: mid.url, key: hub.liveKey, count: AGENTS, prefix: 'sim', reportMs: 5000 })
  let known = 0
  for (let i = 0; i < 120 && (known = await hub.online()) < AGENTS; i++) await sleep(500)
  await sleep(5000) // one full reporting cycle under way
  let failed = 0
  const { raw, thresh } = await measure(
    (agent, i) => relay.send(rawAgents.ids[agent], `raw-${i}`),
    async (agent) => {
      const outcome = await hub.runTool(agents.ids[agent], 'get_version')
      if (outcome.status !== 'success') failed++
    },
    agents.ids,
  )
  const rawSamples = relay.samples()
  await rawAgents.stop()
  relay.stop()
  // p99 is a bound with 10,000 agents reporting, not 20,000: thresh alone once the raw fleet is gone.
  await sleep(5000)
  const alone = []
  for (let i = 0; i < COMMANDS; i++) {
    const started = performance.now()
    const outcome = await hub.runTool(agents.ids[Math.floor(Math.random() * agents.ids.length)], 'get_version')
    if (outcome.status !== 'success') failed++
    alone.push(performance.now() - started)
  }
  alone.sort((a, b) => a - b)
  const delivered = await mid.metric('midtier_metrics_samples_sent_total')
  const midRss = await mid.metric('thresh_process_resident_memory_bytes')
  await agents.stop()
  await mid.kill()
  await hub.stop()

  const p = (xs, q) => percentile(xs, q).toFixed(2)
  return {
    rows: [
      ['agents (reporting every 5 s)', `${AGENTS}; online at the hub: ${known}`],
      ['commands measured', `${COMMANDS} each, sequential, alternating, random agents${failed ? `, ${failed} FAILED` : ''}`],
      ['raw ws relay p50 / p99 ms', `${p(raw, 50)} / ${p(raw, 99)}`],
      ['thresh p50 / p99 ms', `${p(thresh, 50)} / ${p(thresh, 99)}`],
      ['thresh alone (raw fleet stopped) p50 / p99 / max ms', `${p(alone, 50)} / ${p(alone, 99)} / ${alone.at(-1).toFixed(2)}`],
      ['metric samples reaching the hub', `thresh ${delivered}, raw ${rawSamples}`],
      ['mid-tier RSS', `${(midRss / 2 ** 20).toFixed(0)} MB`],
    ],
    ratio: [
      { label: 'thresh p50 / raw relay p50', value: percentile(thresh, 50) / percentile(raw, 50), target: '<= 2' },
      { label: 'thresh alone p99 / 20 ms', value: percentile(alone, 99) / 20, target: '<= 1.00' },
    ],
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  for (const r of result.ratio) console.log(`  ${('ratio: ' + r.label).padEnd(40)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
