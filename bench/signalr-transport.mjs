// SignalR server vs raw `ws` in the same run: idle memory per connection, ingest throughput of
// 205-byte invocations from 200 connections, and invoke round-trip latency. Ingest invocations carry
// ids, as the agent's SendMetrics does, so the server writes a completion for each; the baseline is
// raw ws taking the same bytes with no answer, and (for reference) raw ws answering each with 1 byte.
// Needs `npm run build` first (imports dist/). Scale with SIGNALR_BENCH_CONNECTIONS (default 10000).
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'

export const name = 'signalr transport vs raw ws'
const RS = '\x1e'
const CONNECTIONS = Number(process.env.SIGNALR_BENCH_CONNECTIONS ?? 10000)

function child(mode) {
  const proc = spawn(process.execPath, ['--expose-gc', new URL('./signalr-server-child.mjs', import.meta.url).pathname, mode], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: proc.stdout })
  const queue = []
  const waiters = []
  lines.on('line', (line) => (waiters.length ? waiters.shift()(JSON.parse(line)) : queue.push(JSON.parse(line))))
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)))
  return {
    next,
    ask: (question) => {
      proc.stdin.write(question + '\n')
      return next()
    },
    kill: () => proc.kill('SIGTERM'),
  }
}

async function openRaw(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  return ws
}

async function openSignalR(port) {
  const negotiated = await (await fetch(`http://127.0.0.1:${port}/bench/negotiate?negotiateVersion=1`, { method: 'POST' })).json()
  const ws = new WebSocket(`ws://127.0.0.1:${port}/bench?id=${negotiated.connectionToken}`)
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  ws.send(`{"protocol":"json","version":1}${RS}`)
  await new Promise((resolve) => ws.once('message', resolve))
  return ws
}

async function openMany(open, port, n) {
  const sockets = []
  for (let i = 0; i < n; i += 200) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => open(port)))))
  }
  return sockets
}

async function idleCost(mode, open) {
  const server = child(mode)
  const { port } = await server.next()
  const warm = await openMany(open, port, 100)
  const before = (await server.ask('rss')).rss
  const sockets = await openMany(open, port, CONNECTIONS)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const after = (await server.ask('rss')).rss
  for (const s of [...warm, ...sockets]) s.terminate()
  server.kill()
  return (after - before) / CONNECTIONS
}

async function ingest(mode, open, payloadOf) {
  const server = child(mode)
  const { port } = await server.next()
  const sockets = await openMany(open, port, 200)
  const start = (await server.ask('count')).count
  const deadline = Date.now() + 3000
  await Promise.all(
    sockets.map(async (ws) => {
      let n = 0
      ws.on('message', () => {}) // completions (or acks) are read and dropped, as the agent's client does
      while (Date.now() < deadline) {
        for (let i = 0; i < 50; i++) ws.send(payloadOf(n++))
        // Respect backpressure so we measure the server, not a client-side buffer.
        while (ws.bufferedAmount > 64 * 1024) await new Promise((resolve) => setTimeout(resolve, 1))
        await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
  const end = (await server.ask('count')).count
  for (const s of sockets) s.terminate()
  server.kill()
  return (end - start) / 3
}

async function roundTrip(mode, open, message, isReply) {
  const server = child(mode)
  const { port } = await server.next()
  const ws = await open(port)
  const latencies = []
  for (let i = 0; i < 3000; i++) {
    const started = process.hrtime.bigint()
    await new Promise((resolve) => {
      const onMessage = (data) => {
        if (!isReply(data.toString())) return
        ws.off('message', onMessage)
        resolve()
      }
      ws.on('message', onMessage)
      ws.send(message(i))
    })
    if (i >= 500) latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  ws.terminate()
  server.kill()
  latencies.sort((a, b) => a - b)
  return { p50: latencies[Math.floor(latencies.length * 0.5)], p99: latencies[Math.floor(latencies.length * 0.99)] }
}

export async function run() {
  // 205 bytes on the wire for both: the SignalR record includes framing and target.
  // The invocation id is padded to 8 digits so every message is 205 bytes.
  const invocation = (id, pad) => `{"type":1,"invocationId":"${String(id).padStart(8, '0')}","target":"Ingest","arguments":["${'x'.repeat(pad)}"]}${RS}`
  const pad = 205 - invocation(0, 0).length
  const signalrPayload = (i) => invocation(i % 1e8, pad)
  const raw = 'x'.repeat(205)
  const rawPayload = () => raw
  const acked = 'ack' + 'x'.repeat(202)
  const ackedPayload = () => acked

  const rawIdle = await idleCost('ws', openRaw)
  const srIdle = await idleCost('signalr', openSignalR)
  const rawRate = await ingest('ws', openRaw, rawPayload)
  const srRate = await ingest('signalr', openSignalR, signalrPayload)
  const ackRate = await ingest('ws', openRaw, ackedPayload)
  const rawRtt = await roundTrip('ws', openRaw, (i) => `echo${i}`, () => true)
  const srRtt = await roundTrip('signalr', openSignalR, (i) => `{"type":1,"invocationId":"${i}","target":"Echo","arguments":[${i}]}${RS}`, (t) => t.includes('"type":3'))

  return {
    rows: [
      [`idle RSS/conn raw ws (${CONNECTIONS})`, `${(rawIdle / 1024).toFixed(1)} KiB`],
      [`idle RSS/conn signalr (${CONNECTIONS})`, `${(srIdle / 1024).toFixed(1)} KiB`],
      ['ingest raw ws (200 conns, 205 B)', `${Math.round(rawRate)} msg/s`],
      ['ingest signalr with ids (200 conns, 205 B)', `${Math.round(srRate)} msg/s`],
      ['ingest raw ws answering each (reference)', `${Math.round(ackRate)} msg/s`],
      ['round trip raw ws p50 / p99', `${rawRtt.p50.toFixed(3)} / ${rawRtt.p99.toFixed(3)} ms`],
      ['round trip signalr p50 / p99', `${srRtt.p50.toFixed(3)} / ${srRtt.p99.toFixed(3)} ms`],
    ],
    ratio: [
      { label: 'idle memory signalr/ws', value: srIdle / rawIdle, target: '<= 2.0' },
      { label: 'ingest signalr (ids)/ws', value: srRate / rawRate, target: '>= 0.5' },
      { label: 'ingest signalr (ids)/ws answering', value: srRate / ackRate, target: '(report)' },
      { label: 'rtt p50 signalr/ws', value: srRtt.p50 / rawRtt.p50, target: '<= 2.0' },
    ],
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  for (const r of result.ratio) console.log(`  ${('ratio: ' + r.label).padEnd(40)} ${r.value.toFixed(2)}  (target ${r.target})`)
  process.exit(0)
}
