// The hub's fleet benchmarks (issue #5), each against a baseline measured in the same run:
// - metrics ingest end to end (agent SendMetrics -> hub -> PostgreSQL) vs a raw `postgres` COPY of the
//   same rows, and p99 sample-to-database latency at a steady rate;
// - hub RSS per 1,000 connected agents vs a raw `ws` server holding 1,000 idle connections;
// - GET /api/nodes with 1,000+ nodes vs a bare hono route returning the same JSON.
// Needs `npm run build` first and PostgreSQL (THRESH_TEST_DATABASE_URL, default the local `test` db).
// HUB_BENCH_AGENTS (1000), HUB_BENCH_SAMPLES (50000), HUB_BENCH_BATCH/HUB_BENCH_CONCURRENCY (hub writer),
// HUB_BENCH_PROF=DIR (CPU profile of the hub) tune a run.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import postgres from 'postgres'
import WebSocket from 'ws'
import { load } from './load.mjs'

export const name = 'hub fleet (ingest, agent memory, node list)'
const RS = '\x1e'
const root = new URL('..', import.meta.url).pathname
// The hub shows its fleet-wide gauges only to a scraper with this token.
const METRICS_TOKEN = 'bench-metrics-token'
const databaseUrl = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const AGENTS = Number(process.env.HUB_BENCH_AGENTS ?? 1000)
const INGEST_AGENTS = 50
const INGEST_SAMPLES = Number(process.env.HUB_BENCH_SAMPLES ?? 50_000)
const COPY_BATCH = 1000

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

export async function startHub(schema) {
  const home = mkdtempSync(join(tmpdir(), 'thresh-hub-bench-'))
  const port = await freePort()
  const config = join(home, 'hub.json')
  writeFileSync(
    config,
    JSON.stringify({ storage: 'postgres', databaseUrl, logLevel: 'warn', offlineAfter: '10m', registrationBurst: 1_000_000, maxNodesPerAccount: 1_000_000, metricsToken: METRICS_TOKEN, plugins: [join(root, 'bench/hub-gc-plugin.mjs')], pluginOptions: { 'storage-postgres': { schema }, ...(process.env.HUB_BENCH_BATCH ? { 'hub-fleet': { batchSize: Number(process.env.HUB_BENCH_BATCH), writeConcurrency: Number(process.env.HUB_BENCH_CONCURRENCY ?? 2) } } : {}) } }),
  )
  const proc = spawn(process.execPath, ['--expose-gc', ...(process.env.HUB_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.HUB_BENCH_PROF] : []), join(root, 'bin/thresh.mjs'), 'run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--config', config], {
    env: { ...process.env, THRESH_HOME: home, THRESH_ADMIN_PASSWORD: 'bench-password' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {}
    if (i > 600) throw new Error('The hub did not start')
    await sleep(100)
  }
  const login = await (await fetch(`${url}/api/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: 'bench-password' }) })).json()
  const token = login.accessToken
  const key = await (await fetch(`${url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ type: 'agent', name: 'bench' }) })).json()
  return { url, proc, token, key: key.key }
}

/** An agent on raw WebSockets speaking SignalR's JSON protocol: cheaper than the official client for 1,000 of them. */
async function openAgent(hub, agentId) {
  const negotiated = await (await fetch(`${hub.url}/agenthub/negotiate?negotiateVersion=1`, { method: 'POST', headers: { authorization: `Bearer ${hub.key}` } })).json()
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/agenthub?id=${negotiated.connectionToken}`, { headers: { authorization: `Bearer ${hub.key}` } })
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  ws.send(`{"protocol":"json","version":1}${RS}`)
  await new Promise((resolve) => ws.once('message', resolve))
  const info = {
    agentId,
    hostname: agentId,
    platform: 'linux',
    osVersion: 'bench',
    threshVersion: '0.1.0',
    ipAddress: '127.0.0.1',
    architecture: 'x64',
    containerRuntime: 'docker',
    cpuCores: 4,
    ramTotalGb: 8,
    diskTotalGb: 100,
    registeredAt: new Date().toISOString(),
  }
  ws.send(JSON.stringify({ type: 1, invocationId: '1', target: 'RegisterAgent', arguments: [info] }) + RS)
  await new Promise((resolve) => {
    const onMessage = (data) => {
      if (String(data).includes('"type":3')) {
        ws.off('message', onMessage)
        resolve()
      }
    }
    ws.on('message', onMessage)
  })
  return ws
}

async function openAgents(hub, prefix, n) {
  const sockets = []
  for (let i = 0; i < n; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => openAgent(hub, `${prefix}-${i + j}`)))))
  }
  return sockets
}

function metricsMessage(agentId, at) {
  return (
    JSON.stringify({
      type: 1,
      target: 'SendMetrics',
      arguments: [
        {
          agentId,
          timestamp: new Date(at).toISOString(),
          cpuPercent: 12.5,
          cpuPerCore: [10, 15],
          memoryUsedMB: 2048,
          memoryTotalMB: 8192,
          diskUsedGB: 40,
          diskTotalGB: 100,
          disks: [{ mount: '/', usedGB: 40, totalGB: 100 }],
          containersRunning: 3,
          containers: [],
          environmentCount: 1,
          uptimeSeconds: 1000,
        },
      ],
    }) + RS
  )
}

/**
 * A raw COPY of the same rows, in COPY statements of `batch` rows one after another (the batch size of
 * the mid-tier protocol and of bench/storage-ingest.mjs): the hub must write as samples arrive
 * (p99 <= 2 s), so one 50,000-row COPY stream is reported too, but only for scale.
 */
export async function rawCopy(sql, schema, rows, batch = COPY_BATCH, nodes = INGEST_AGENTS) {
  await sql.unsafe(`create table if not exists "${schema}".metrics_copy (like "${schema}".metrics_raw including all)`)
  await sql.unsafe(`truncate "${schema}".metrics_copy`)
  const base = Date.UTC(2026, 0, 1)
  const started = performance.now()
  for (let from = 0; from < rows; from += batch) {
    const stream = await sql.unsafe(`copy "${schema}".metrics_copy (node_key, at, cpu, mem_used, mem_total, disk_used, disk_total, containers) from stdin`).writable()
    for (let i = from; i < Math.min(rows, from + batch); i++) {
      const line = `${(i % nodes) + 1}\t${new Date(base + i).toISOString()}\t12.5\t2048\t8192\t40\t100\t3\n`
      if (!stream.write(line)) await new Promise((resolve) => stream.once('drain', resolve))
    }
    await new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve())))
  }
  return rows / ((performance.now() - started) / 1000)
}

async function ingest(hub, sql, schema) {
  const agents = await openAgents(hub, 'ingest', INGEST_AGENTS)
  const ids = agents.map((_, i) => `ingest-${i}`)
  const count = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".metrics_raw`))[0].n)
  await sleep(1500)

  // Throughput: every agent sends its share as fast as backpressure allows; rounds alternate with the
  // COPY baseline and the median ratio is kept (one round swings 2x on a shared 2-core machine).
  const per = Math.ceil(INGEST_SAMPLES / INGEST_AGENTS)
  const total = per * INGEST_AGENTS
  const rounds = []
  for (let round = 0; round < 3; round++) {
    const copyRate = await rawCopy(sql, schema, total)
    const threshRate = await blast(round)
    rounds.push({ copyRate, threshRate, ratio: threshRate / copyRate })
  }
  rounds.sort((a, b) => a.ratio - b.ratio)
  const median = rounds[1]
  const streamRate = await rawCopy(sql, schema, total, total)

  async function blast(round) {
  const already = await count()
  const base = Date.UTC(2026, 0, 1) + round * 400 * 24 * 3600_000
  // Messages are built before the clock starts so the client's JSON work is not in the figure.
  const messages = agents.map((_, a) => Array.from({ length: per }, (_, i) => metricsMessage(ids[a], base + i * 1000 + a)))
  const started = performance.now()
  await Promise.all(
    agents.map(async (ws, a) => {
      for (let i = 0; i < per; i++) {
        ws.send(messages[a][i])
        if (ws.bufferedAmount > 256 * 1024) while (ws.bufferedAmount > 64 * 1024) await sleep(1)
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  const sentAt = performance.now()
  let receivedAt = 0
  while ((await count()) < already + total) {
    if (!receivedAt) {
      const text = await (await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
      if (Number(/^hub_metrics_samples_total (\d+)/m.exec(text)?.[1] ?? 0) >= already + total) receivedAt = performance.now()
    }
    if (performance.now() - started > 120_000) throw new Error('Ingest did not finish in 120 s')
    await sleep(20)
  }
  if (process.env.HUB_BENCH_DEBUG) console.log({ sendMs: sentAt - started, receivedMs: receivedAt - started, storedMs: performance.now() - started })
  return total / ((performance.now() - started) / 1000)
  }

  // Latency: a steady 1,000 samples/s (1,000 agents every second) for 6 s; the k-th sample sent is in
  // the database once the row count passes k (the hub writes in arrival order).
  const before = await count()
  const rate = 1000
  const seconds = 6
  const sendTimes = []
  const polls = []
  let polling = true
  const poller = (async () => {
    while (polling) {
      polls.push([performance.now(), await count()])
      await sleep(10)
    }
  })()
  const t0 = performance.now()
  let sent = 0
  const latencyBase = Date.UTC(2026, 1, 1)
  while (sent < rate * seconds) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate)
    while (sent < Math.min(due, rate * seconds)) {
      const a = sent % INGEST_AGENTS
      agents[a].send(metricsMessage(ids[a], latencyBase + sent))
      sendTimes.push(performance.now())
      sent++
    }
    await sleep(2)
  }
  while ((await count()) < before + sent) await sleep(10)
  polling = false
  await poller
  polls.push([performance.now(), before + sent])
  const latencies = []
  let p = 0
  for (let k = 0; k < sent; k++) {
    while (polls[p][1] < before + k + 1) p++
    latencies.push(polls[p][0] - sendTimes[k])
  }
  latencies.sort((a, b) => a - b)
  for (const ws of agents) ws.terminate()

  return { threshRate: median.threshRate, copyRate: median.copyRate, streamRate, ratios: rounds.map((r) => r.ratio), total, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) }
}

/** The same samples relayed by one mid-tier in SendMetricsBatch messages of 1,000 (the path a large fleet takes). */
async function ingestViaMidtier(hub, sql, schema, total) {
  const mid = await (await fetch(`${hub.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${hub.token}` }, body: JSON.stringify({ type: 'midtier', name: 'bench-mid' }) })).json()
  const negotiated = await (await fetch(`${hub.url}/midtierhub/negotiate?negotiateVersion=1`, { method: 'POST', headers: { authorization: `Bearer ${mid.key}` } })).json()
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/midtierhub?id=${negotiated.connectionToken}`, { headers: { authorization: `Bearer ${mid.key}` } })
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  ws.send(`{"protocol":"json","version":1}${RS}`)
  await new Promise((resolve) => ws.once('message', resolve))
  const completions = new Map()
  ws.on('message', (data) => {
    for (const frame of String(data).split(RS)) {
      if (!frame) continue
      const message = JSON.parse(frame)
      if (message.type === 3) completions.get(message.invocationId)?.(message)
    }
  })
  let next = 0
  const invoke = (target, ...args) =>
    new Promise((resolve) => {
      const id = String(++next)
      completions.set(id, resolve)
      ws.send(JSON.stringify({ type: 1, invocationId: id, target, arguments: args }) + RS)
    })
  const ids = Array.from({ length: INGEST_AGENTS }, (_, i) => `relayed-${i}`)
  await invoke('RegisterMidTier', { midtierId: 'bench' })
  await invoke('RegisterAgents', ids.map((agentId) => ({ agentId, hostname: agentId, platform: 'linux', osVersion: 'bench', threshVersion: '0.1.0', ipAddress: '127.0.0.1', architecture: 'x64', containerRuntime: 'docker', cpuCores: 4, ramTotalGb: 8, diskTotalGb: 100, registeredAt: new Date().toISOString() })))
  const count = async () => Number((await sql.unsafe(`select count(*)::int as n from "${schema}".metrics_raw`))[0].n)
  await sleep(1000)
  const rounds = []
  for (let round = 0; round < 3; round++) {
    const copyRate = await rawCopy(sql, schema, total)
    const already = await count()
    const base = Date.UTC(2030, 0, 1) + round * 400 * 24 * 3600_000
    const batches = []
    for (let i = 0; i < total; i += 1000) {
      const samples = []
      for (let j = i; j < Math.min(total, i + 1000); j++) samples.push(JSON.parse(metricsMessage(ids[j % INGEST_AGENTS], base + j * 1000).slice(0, -1)).arguments[0])
      batches.push(JSON.stringify({ type: 1, invocationId: `b${round}-${i}`, target: 'SendMetricsBatch', arguments: [samples] }) + RS)
    }
    const started = performance.now()
    for (const batch of batches) {
      ws.send(batch)
      while (ws.bufferedAmount > 1024 * 1024) await sleep(1)
    }
    while ((await count()) < already + total) await sleep(10)
    const threshRate = total / ((performance.now() - started) / 1000)
    rounds.push({ copyRate, threshRate, ratio: threshRate / copyRate })
  }
  ws.terminate()
  rounds.sort((a, b) => a.ratio - b.ratio)
  return { ...rounds[1], ratios: rounds.map((r) => r.ratio) }
}

function wsChild() {
  const proc = spawn(process.execPath, ['--expose-gc', join(root, 'bench/signalr-server-child.mjs'), 'ws'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: proc.stdout })
  const queue = []
  const waiters = []
  lines.on('line', (line) => (waiters.length ? waiters.shift()(JSON.parse(line)) : queue.push(JSON.parse(line))))
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)))
  return { next, ask: (q) => (proc.stdin.write(q + '\n'), next()), kill: () => proc.kill('SIGTERM') }
}

async function rawWsPerConnection(n) {
  const server = wsChild()
  const { port } = await server.next()
  const open = () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
      ws.once('open', () => resolve(ws))
      ws.once('error', reject)
    })
  const warm = await Promise.all(Array.from({ length: 50 }, open))
  await sleep(300)
  const before = (await server.ask('rss')).rss
  const sockets = []
  for (let i = 0; i < n; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, open))))
  await sleep(1000)
  const after = (await server.ask('rss')).rss
  for (const s of [...warm, ...sockets]) s.terminate()
  server.kill()
  return (after - before) / n
}

const loadWithAuth = (url, token, { connections = 16, durationMs = 3000 } = {}) =>
  load(url, { connections, durationMs, headers: { authorization: `Bearer ${token}` } })

async function bareHono(jsonPath) {
  const code = `
    import { serve } from '@hono/node-server'
    import { Hono } from 'hono'
    import { readFileSync } from 'node:fs'
    const body = JSON.parse(readFileSync(${JSON.stringify(jsonPath)}, 'utf8'))
    const app = new Hono()
    const text = JSON.stringify(body)
    app.get('/api/nodes', (c) => c.json(body))
    app.get('/api/nodes-serialised', (c) => c.body(text, 200, { 'content-type': 'application/json' }))
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => console.log(JSON.stringify({ port: s.address().port })))
  `
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise((resolve) => createInterface({ input: proc.stdout }).once('line', resolve))
  return { url: `http://127.0.0.1:${JSON.parse(line).port}`, kill: () => proc.kill('SIGTERM') }
}

export async function run() {
  const schema = `thresh_hub_bench_${randomBytes(4).toString('hex')}`
  // TCP_NODELAY as the store's own connections have it (without it each COPY statement waits 40 ms for a delayed ACK).
  const { noDelaySockets } = await import('../dist/plugins/storage-postgres/postgres-executor.js')
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, socket: noDelaySockets(connect) })
  const hub = await startHub(schema)
  try {
    // Memory first, on the fresh hub, so ingest garbage does not blur the delta.
    const rawPerConn = await rawWsPerConnection(AGENTS)
    // Warm up with as many agents as are measured, then drop them: the first registration burst
    // grows V8's young generation once (~16 MB on Node 20), which is no per-agent cost and would
    // otherwise be most of a 1,000-agent delta.
    await openAgents(hub, 'warm', AGENTS).then((ws) => ws.forEach((s) => s.terminate()))
    const gcRss = async () => {
      await sleep(1000)
      return (await (await fetch(`${hub.url}/bench/gc`, { method: 'POST' })).json()).rss
    }
    const rssBefore = await gcRss()
    const agents = await openAgents(hub, 'idle', AGENTS)
    const rssAfter = await gcRss()
    const hubPerAgent = (rssAfter - rssBefore) / AGENTS

    const ingested = await ingest(hub, sql, schema)
    const relayed = await ingestViaMidtier(hub, sql, schema, ingested.total)

    const nodes = await (await fetch(`${hub.url}/api/nodes`, { headers: { authorization: `Bearer ${hub.token}` } })).json()
    const jsonPath = join(mkdtempSync(join(tmpdir(), 'thresh-bench-nodes-')), 'nodes.json')
    writeFileSync(jsonPath, JSON.stringify(nodes))
    const bare = await bareHono(jsonPath)
    await loadWithAuth(`${bare.url}/api/nodes`, hub.token, { durationMs: 500 })
    await loadWithAuth(`${hub.url}/api/nodes`, hub.token, { durationMs: 500 })
    const rounds = { bare: [], serialised: [], hub: [] }
    for (let i = 0; i < 3; i++) {
      rounds.bare.push(await loadWithAuth(`${bare.url}/api/nodes`, hub.token))
      rounds.hub.push(await loadWithAuth(`${hub.url}/api/nodes`, hub.token))
      rounds.serialised.push(await loadWithAuth(`${bare.url}/api/nodes-serialised`, hub.token))
    }
    bare.kill()
    for (const ws of agents) ws.terminate()
    const avg = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length

    return {
      rows: [
        [`ingest ${ingested.total} samples, thresh`, `${ingested.threshRate.toFixed(0)} samples/s`],
        [`ingest, raw COPY of the same rows (${COPY_BATCH}-row COPYs)`, `${ingested.copyRate.toFixed(0)} rows/s`],
        ['ingest, raw COPY as one stream', `${ingested.streamRate.toFixed(0)} rows/s`],
        ['ingest ratio per round', ingested.ratios.map((r) => r.toFixed(2)).join(', ')],
        ['ingest via a mid-tier (batches of 1,000)', `${relayed.threshRate.toFixed(0)} samples/s vs COPY ${relayed.copyRate.toFixed(0)} rows/s`],
        ['mid-tier ingest ratio per round', relayed.ratios.map((r) => r.toFixed(2)).join(', ')],
        ['sample-to-database p50 / p99 @1k/s', `${ingested.p50.toFixed(0)} / ${ingested.p99.toFixed(0)} ms (target p99 <= 2000)`],
        [`hub RSS per agent (${AGENTS} agents)`, `${(hubPerAgent / 1024).toFixed(1)} KiB`],
        [`raw ws RSS per idle connection`, `${(rawPerConn / 1024).toFixed(1)} KiB`],
        [`GET /api/nodes (${nodes.nodes.length} nodes) hub rps`, avg(rounds.hub, 'rps').toFixed(0)],
        ['same JSON on bare hono rps', avg(rounds.bare, 'rps').toFixed(0)],
        ['same JSON pre-serialised, bare hono rps', avg(rounds.serialised, 'rps').toFixed(0)],
        ['hub p50 / p99 ms', `${avg(rounds.hub, 'p50').toFixed(1)} / ${avg(rounds.hub, 'p99').toFixed(1)}`],
        ['bare p50 / p99 ms', `${avg(rounds.bare, 'p50').toFixed(1)} / ${avg(rounds.bare, 'p99').toFixed(1)}`],
      ],
      ratio: [
        { label: 'ingest thresh / raw COPY (median)', value: ingested.threshRate / ingested.copyRate, target: '>= 0.5' },
        { label: 'ingest via mid-tier / raw COPY (median)', value: relayed.ratio, target: '>= 0.5' },
        { label: 'ingest thresh / one-stream COPY', value: ingested.threshRate / ingested.streamRate, target: '(for scale)' },
        { label: 'RSS per agent / raw ws', value: hubPerAgent / rawPerConn, target: '<= 4' },
        { label: 'GET /api/nodes hub / bare hono', value: avg(rounds.hub, 'rps') / avg(rounds.bare, 'rps'), target: '>= 0.8' },
        { label: 'GET /api/nodes hub / bare pre-serialised', value: avg(rounds.hub, 'rps') / avg(rounds.serialised, 'rps'), target: '(stricter)' },
      ],
    }
  } finally {
    hub.proc.kill('SIGTERM')
    await new Promise((resolve) => hub.proc.once('exit', resolve))
    await sql.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {})
    await sql.end()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  for (const ratio of result.ratio) console.log(`  ${('ratio: ' + ratio.label).padEnd(40)} ${ratio.value.toFixed(2)}  (target ${ratio.target})`)
  process.exit(0)
}
