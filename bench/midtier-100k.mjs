// Idle agents on one mid-tier at fleet scale (issue #17): N simulated agents speaking the real agent
// protocol (WebSockets straight away as the agent does, JSON hub handshake, RegisterAgent, SendMetrics
// at the agent's default 30 s interval, SignalR pings after 15 s of silence), each from its own
// loopback address, spread over several simulator processes, held by one real mid-tier process
// (`thresh run --role midtier`) relaying to a hub. Same-run baseline: a raw `ws` server holding N
// connections opened by the same simulators, which gives the raw RSS per connection and the raw
// handshake rate. Then the mid-tier is killed with SIGKILL and started again on its port and home; the
// agents come back with the agent's own policy (a delay jittered in [2.5, 5] s, its default
// `reconnect-delay`) and the time until every one is registered again is compared with 2 × N / (raw
// handshake rate).
//
// `node bench/midtier-100k.mjs` holds MIDTIER_IDLE_AGENTS (default 100,000) agents; in `npm run bench`
// the default is 10,000. Every process holding connections needs one descriptor per connection: children
// are started with `ulimit -n` raised to the hard limit, and N is capped below that limit (on a
// machine whose hard limit is lower than N, raise it first: `ulimit -Hn 1048576` as root, or
// `docker run --ulimit nofile=1048576`). MIDTIER_IDLE_GENERATORS sets the simulator processes.
// Needs `npm run build` first.
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { hardFileLimit, residentBytes, sleep, spawnNode, startAgents, startHub, startMidtier } from './fleet-support.mjs'

export const name = 'mid-tier holding idle agents at fleet scale'
const RECONNECT_MS = 5000
const REPORT_MS = 30_000
const WARM = 1000
const IDLE_CPU_WINDOW_MS = 15_000
// Descriptors a process needs beside its connections (its own files, the hub link, the journal, stdio).
const SPARE_FDS = 300

async function until(what, check, timeoutMs, everyMs = 100) {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** N agents over `generators` simulator processes, started together; `ms` is when the last is ready. */
async function startFleet({ count, generators, from = 0, ...options }) {
  const share = Math.ceil(count / generators)
  const parts = await Promise.all(
    Array.from({ length: generators }, (_, g) => {
      const n = Math.min(share, count - g * share)
      return n > 0 ? startAgents({ ...options, count: n, from: from + g * share }) : undefined
    }).filter(Boolean),
  )
  const sum = async (ask) => (await Promise.all(parts.map(ask))).reduce((a, b) => a + b, 0)
  return {
    ms: Math.max(...parts.map((p) => p.ms)),
    pids: parts.map((p) => p.pid),
    registered: () => sum((p) => p.registered()),
    failures: async () => {
      const all = {}
      for (const f of await Promise.all(parts.map((p) => p.failures()))) for (const [k, v] of Object.entries(f)) all[k] = (all[k] ?? 0) + v
      return all
    },
    pause: () => parts.forEach((p) => p.pause()),
    resume: () => parts.forEach((p) => p.resume()),
    stop: () => Promise.all(parts.map((p) => p.stop())),
  }
}

/** The raw `ws` server of bench/signalr-server-child.mjs in its own process; `gcRss()` is its RSS after a full GC. */
async function startRawServer() {
  const proc = spawnNode(['--expose-gc', new URL('./signalr-server-child.mjs', import.meta.url).pathname, 'ws'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: proc.stdout })
  const next = () => new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line))))
  const { port } = await next()
  process.once('exit', () => proc.kill('SIGKILL'))
  return {
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    gcRss: async () => (proc.stdin.write('rss\n'), (await next()).rss),
    stop: () => (proc.kill('SIGKILL'), new Promise((r) => proc.once('exit', r))),
  }
}

/**
 * Opens N connections in two halves and reads the server's RSS before, between and after (as is, and
 * after a full GC): per connection over all N, and the marginal cost of the second half, which leaves
 * out what grows once (V8's young generation, code, pools) whatever N is.
 */
async function holdInHalves({ agents, open, settle, rss, rssAfterGc }) {
  const half = Math.floor(agents / 2)
  const base = rss()
  const baseGc = await rssAfterGc()
  const first = await open(0, half)
  await settle(half, [first])
  const halfGc = await rssAfterGc()
  first.resume()
  const second = await open(half, agents - half)
  await settle(agents - half, [first, second])
  const full = rss()
  const fullGc = await rssAfterGc()
  first.resume()
  second.resume()
  return {
    ms: first.ms + second.ms,
    base,
    full,
    perAgent: (full - base) / agents,
    perAgentGc: (fullGc - baseGc) / agents,
    marginalGc: (fullGc - halfGc) / (agents - half),
    fleet: {
      pids: [...first.pids, ...second.pids],
      registered: async () => (await first.registered()) + (await second.registered()),
      pause: () => (first.pause(), second.pause()),
      resume: () => (first.resume(), second.resume()),
      failures: async () => {
        const all = await first.failures()
        for (const [k, v] of Object.entries(await second.failures())) all[k] = (all[k] ?? 0) + v
        return all
      },
      stop: () => Promise.all([first.stop(), second.stop()]),
    },
  }
}

const describeHeld = (h) => `${kib(h.perAgent)}; after a full GC ${kib(h.perAgentGc)}; second half after a full GC ${kib(h.marginalGc)}`

/** User + system CPU time of a process so far, seconds. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`
const sinceFailures = (before, after) =>
  Object.entries(after)
    .map(([reason, n]) => [reason, n - (before[reason] ?? 0)])
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ') || 'none'

export async function run({ agents: requested = Number(process.env.MIDTIER_IDLE_AGENTS ?? 10_000) } = {}) {
  const limit = hardFileLimit()
  const agents = Math.min(requested, limit - SPARE_FDS - WARM)
  const generators = Number(process.env.MIDTIER_IDLE_GENERATORS ?? Math.max(2, Math.ceil(agents / Math.min(20_000, limit - SPARE_FDS))))
  const rows = [['agents', agents < requested ? `${agents} (asked ${requested}; capped by the hard open-files limit ${limit})` : String(agents)], ['simulator processes', String(generators)]]

  // Baseline: the same simulators open N bare WebSockets to a raw ws server.
  const raw = await startRawServer()
  const rawWarm = await startFleet({ mode: 'raw', url: raw.url, count: WARM, generators: 1, from: agents, prefix: 'warm', reportMs: 0 })
  await sleep(1000)
  const rawHeld = await holdInHalves({
    agents,
    open: (from, count) => startFleet({ mode: 'raw', url: raw.url, count, from, generators, prefix: 'raw', reportMs: 0 }),
    settle: () => sleep(5000),
    rss: () => residentBytes(raw.pid),
    rssAfterGc: () => raw.gcRss(),
  })
  const rawRate = (agents / rawHeld.ms) * 1000
  await rawHeld.fleet.stop()
  await rawWarm.stop()
  await raw.stop()

  const hub = await startHub()
  const mid = await startMidtier(hub.url, hub.midKey, { nodeArgs: ['--inspect=127.0.0.1:0'] })
  try {
    const signalr = { mode: 'signalr', url: mid.url, key: hub.liveKey, reportMs: REPORT_MS, reconnectMs: RECONNECT_MS }
    const warm = await startFleet({ ...signalr, count: WARM, generators: 1, from: agents, prefix: 'warm' })
    await sleep(2000)
    let connected = WARM
    const held = await holdInHalves({
      agents,
      open: (from, count) => startFleet({ ...signalr, count, from, generators, prefix: 'sim' }),
      // Idle: every agent has registered; the fleet reports every 30 s and pings; let the relay settle.
      // Memory is read with the relay drained: reports paused and nothing owed to the hub, so what is
      // measured is what holding the agents costs, not samples queued behind a slow hub (bounded by
      // the mid-tier's buffer-size whatever the fleet).
      settle: async (count, fleets) => {
        connected += count
        await until('the mid-tier to count every agent', async () => (await mid.metric('midtier_agents_connected')) >= connected, 300_000, 500)
        for (const f of fleets) f.pause()
        await until('the relay to drain', async () => (await mid.metric('midtier_metrics_buffered')) + (await mid.metric('midtier_updates_buffered')) === 0, 120_000, 500).catch(() => {})
        await sleep(3000)
      },
      rss: () => residentBytes(mid.proc.pid),
      rssAfterGc: async () => (await mid.collectGarbage(), residentBytes(mid.proc.pid)),
    })
    const fleet = held.fleet
    const firstRate = (agents / held.ms) * 1000
    // What holding them costs in CPU: the fleet's reports at 30 s, the completions, both sides' pings.
    const cpuBefore = cpuSeconds(mid.proc.pid)
    await sleep(IDLE_CPU_WINDOW_MS)
    const idleCpu = (cpuSeconds(mid.proc.pid) - cpuBefore) / (IDLE_CPU_WINDOW_MS / 1000)
    const simulatorRss = fleet.pids.reduce((sum, pid) => sum + residentBytes(pid), 0)
    await warm.stop()

    /** Kills the mid-tier, starts it again, and times how long until every agent is registered again. */
    const restart = async () => {
      const failuresBefore = await fleet.failures()
      const killedAt = performance.now()
      await mid.kill()
      await until('the simulators to see every connection drop', async () => (await fleet.registered()) === 0, 60_000)
      const droppedAt = performance.now()
      await mid.start()
      const upAt = performance.now()
      let last = 0
      await until('every agent registered again', async () => (last = await fleet.registered()) >= agents, Math.max(300_000, (20 * agents) / rawRate * 1000), 200).catch((error) => {
        throw new Error(`${error.message} (${last} of ${agents})`)
      })
      return { dropMs: droppedAt - killedAt, startMs: upAt - droppedAt, downMs: upAt - killedAt, backMs: performance.now() - upAt, failed: sinceFailures(failuresBefore, await fleet.failures()) }
    }
    const back = await restart()
    const rssAfterRestart = residentBytes(mid.proc.pid)
    if (process.env.MIDTIER_IDLE_VERBOSE) console.error(mid.output())

    await fleet.stop()
    const budgetMs = ((2 * agents) / rawRate) * 1000
    rows.push(
      ['raw ws RSS per connection', describeHeld(rawHeld)],
      ['raw ws handshakes', `${Math.round(rawRate)}/s (N in ${Math.round(rawHeld.ms)} ms)`],
      ['mid-tier RSS holding N idle agents', `${(held.full / 2 ** 20).toFixed(0)} MiB (${(held.base / 2 ** 20).toFixed(0)} MiB with ${WARM} warm-up agents)`],
      ['mid-tier RSS per agent', describeHeld(held)],
      ['mid-tier CPU holding them', `${(idleCpu * 100).toFixed(1)} % of a core (${IDLE_CPU_WINDOW_MS / 1000} s window, reports every ${REPORT_MS / 1000} s)`],
      ['first connect + register', `${Math.round(firstRate)} agents/s`],
      ['simulators RSS (all)', `${(simulatorRss / 2 ** 20).toFixed(0)} MiB`],
      ['mid-tier down (kill -9 to serving)', `${Math.round(back.downMs)} ms (every agent saw the drop in ${Math.round(back.dropMs)} ms, start to serving ${Math.round(back.startMs)} ms)`],
      ['all registered again after it serves', `${Math.round(back.backMs)} ms (${Math.round((agents / back.backMs) * 1000)} agents/s)`],
      ['budget 2 × N / raw rate', `${Math.round(budgetMs)} ms`],
      ['failed attempts while coming back', back.failed],
      ['mid-tier RSS after the fleet came back', `${(rssAfterRestart / 2 ** 20).toFixed(0)} MiB`],
      ['reconnect policy', `jittered [${RECONNECT_MS / 2}, ${RECONNECT_MS}] ms, like the agent's default`],
    )
    return {
      rows,
      ratio: [
        { label: 'RSS per agent / raw ws', value: held.perAgent / rawHeld.perAgent, target: '<= 2' },
        { label: 'same, both after a full GC', value: held.perAgentGc / rawHeld.perAgentGc, target: '<= 2' },
        { label: 'same, second half of N (marginal)', value: held.marginalGc / rawHeld.marginalGc, target: '<= 2' },
        { label: 'back after kill -9 / (2 × N / raw rate)', value: back.backMs / budgetMs, target: '<= 1.00' },
      ],
    }
  } finally {
    await mid.kill().catch(() => {})
    await hub.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run({ agents: Number(process.env.MIDTIER_IDLE_AGENTS ?? 100_000) })
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  for (const ratio of result.ratio) console.log(`  ${('ratio: ' + ratio.label).padEnd(40)} ${ratio.value.toFixed(2)}  (target ${ratio.target})`)
  process.exit(0)
}
