// After a mid-tier restart (kill -9, started again on its port and home), how long until all N
// simulated agents are back: reconnected with the agent's own policy (a delay jittered in [2.5, 5] s,
// the default reconnect-delay; straight to WebSockets as thresh's agent does), registered, and online
// at the hub again. Target: within 2x the time N raw `ws` handshakes take at the same concurrency,
// measured in the same run.
// Needs `npm run build` first. Scale with FLEET_BENCH_AGENTS (default 10000).
import { sleep, startAgents, startHub, startMidtier, startRawRelay } from './fleet-support.mjs'

export const name = 'mid-tier restart: agents back vs raw ws handshake rate'
const AGENTS = Number(process.env.FLEET_BENCH_AGENTS ?? 10000)
const RECONNECT_MS = 5000

async function until(what, check, timeoutMs) {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

export async function run() {
  // Baseline: N bare ws handshakes, 200 in flight at a time, as the simulator opens them.
  const relay = await startRawRelay()
  const raw = await startAgents({ mode: 'raw', url: relay.url, count: AGENTS, prefix: 'raw', reportMs: 0 })
  await raw.stop()
  relay.stop()
  const rawRate = (AGENTS / raw.ms) * 1000

  const hub = await startHub()
  const mid = await startMidtier(hub.url, hub.midKey)
  const agents = await startAgents({ mode: 'signalr', url: mid.url, key: hub.liveKey, count: AGENTS, prefix: 'sim', reportMs: 5000, reconnectMs: RECONNECT_MS })
  const firstConnectRate = (AGENTS / agents.ms) * 1000
  await until('all agents online at the hub', async () => (await hub.online()) >= AGENTS, 120_000)

  /** Kills the mid-tier, starts it again, and times how long until every agent is registered again. */
  const restart = async () => {
    const killedAt = performance.now()
    await mid.kill()
    await until('the simulator to see every connection drop', async () => (await agents.registered()) === 0, 30_000)
    await mid.start()
    const upAt = performance.now()
    let registeredAt = 0
    await until('every agent registered again', async () => {
      const done = (await agents.registered()) >= AGENTS
      if (done) registeredAt = performance.now()
      return done
    }, 120_000)
    return { downMs: upAt - killedAt, backMs: registeredAt - upAt, upAt }
  }

  const before = await agents.failures()
  const first = await restart()
  const failed = Object.entries(await agents.failures()).map(([reason, n]) => `${n - (before[reason] ?? 0)} ${reason}`).filter((x) => !x.startsWith('0 '))
  const connected = await mid.metric('midtier_agents_connected')
  // The hub counts a node online from its last report, so "back at the hub" is one report after registering.
  const since = Date.now()
  let reporting = 0
  const hubBack = await until('fresh reports of every agent at the hub', async () => {
    const nodes = await hub.fleet.listNodes(hub.accountId)
    reporting = nodes.filter((n) => n.status === 'online' && Date.parse(n.lastSeenAt) >= since).length
    return reporting >= AGENTS
  }, 60_000).then(() => `${Math.round(performance.now() - first.upAt)} ms after it serves`, () => `not within 60 s (${reporting} of ${AGENTS})`)

  // The same with agents retrying every 100-200 ms: what the mid-tier itself can take back.
  agents.setReconnectDelay(200)
  const herd = await restart()
  // And with a negotiate before each WebSocket, as official clients and the original thresh agent do.
  agents.setNegotiate(true)
  const negotiating = await restart()

  await agents.stop()
  await mid.kill()
  await hub.stop()

  const budgetMs = (2 * AGENTS) / rawRate * 1000
  const backMs = first.backMs
  return {
    rows: [
      ['agents', String(AGENTS)],
      ['raw ws handshakes', `${Math.round(rawRate)}/s (N in ${Math.round(raw.ms)} ms)`],
      ['first connect + register', `${Math.round(firstConnectRate)} agents/s`],
      ['mid-tier down (kill -9 to serving)', `${Math.round(first.downMs)} ms`],
      ['all registered again after it serves', `${Math.round(backMs)} ms (${connected} connected)`],
      ['failed attempts while coming back', failed.join(', ') || 'none'],
      ['same, agents retrying every 0.1-0.2 s', `${Math.round(herd.backMs)} ms (${Math.round((AGENTS / herd.backMs) * 1000)} agents/s)`],
      ['same, negotiating first', `${Math.round(negotiating.backMs)} ms (${Math.round((AGENTS / negotiating.backMs) * 1000)} agents/s)`],
      ['all reporting at the hub again', hubBack],
      ['reconnect policy', `jittered [${RECONNECT_MS / 2}, ${RECONNECT_MS}] ms, like the agent's default`],
    ],
    ratio: { label: 'back after restart / (2 × N / raw rate)', value: backMs / budgetMs, target: '<= 1.00' },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  console.log(`  ${('ratio: ' + result.ratio.label).padEnd(40)} ${result.ratio.value.toFixed(2)}  (target ${result.ratio.target})`)
  process.exit(0)
}
