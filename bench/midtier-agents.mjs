// Many agents on one mid-tier: an agent simulator speaking the real protocol (negotiate, JSON hub
// handshake, RegisterAgent, SendMetrics over WebSockets) holds N agents on a real mid-tier process
// relaying to a real hub; the mid-tier's extra RSS per agent is compared with raw `ws` connections
// measured in the same run. Needs `npm run build` first. Scale with MIDTIER_BENCH_AGENTS (default 10000).
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'

export const name = 'mid-tier agents vs raw ws'
const RS = '\x1e'
const AGENTS = Number(process.env.MIDTIER_BENCH_AGENTS ?? 10000)
const root = new URL('..', import.meta.url).pathname

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

function thresh(args, env) {
  const proc = spawn(process.execPath, ['--expose-gc', join(root, 'bin/thresh.mjs'), ...args], {
    env: { ...process.env, NO_COLOR: '1', THRESH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  proc.stdout.on('data', (c) => (output += c))
  proc.stderr.on('data', (c) => (output += c))
  return { proc, output: () => output }
}

async function waitUp(url, proc) {
  for (let i = 0; i < 600; i++) {
    if (proc.proc.exitCode !== null) throw new Error(`exited: ${proc.output()}`)
    try {
      await fetch(url)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`${url} never answered: ${proc.output()}`)
}

async function metric(url, metricName) {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(metricName + ' '))
  return line ? Number(line.split(' ')[1]) : NaN
}

function info(agentId) {
  return { agentId, hostname: agentId, platform: 'linux', osVersion: '6', threshVersion: '0.1.0', ipAddress: '127.0.0.1', architecture: 'x64', containerRuntime: 'docker', cpuCores: 2, ramTotalGb: 4, diskTotalGb: 40, registeredAt: new Date().toISOString() }
}

function sample(agentId) {
  return { agentId, timestamp: new Date().toISOString(), cpuPercent: 10, cpuPerCore: [10, 10], memoryUsedMB: 500, memoryTotalMB: 4000, diskUsedGB: 10, diskTotalGB: 40, disks: [{ mount: '/', usedGB: 10, totalGB: 40 }], containersRunning: 0, containers: [], environmentCount: 0, uptimeSeconds: 1 }
}

/** One simulated agent: the SignalR wire protocol by hand, as a light client. */
async function openAgent(url, key, agentId) {
  const headers = { authorization: `Bearer ${key}` }
  const negotiated = await (await fetch(`${url}/agenthub/negotiate?negotiateVersion=1`, { method: 'POST', headers })).json()
  const ws = new WebSocket(`${url.replace('http', 'ws')}/agenthub?id=${negotiated.connectionToken}`, { headers })
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  ws.send(`{"protocol":"json","version":1}${RS}`)
  await new Promise((resolve) => ws.once('message', resolve))
  const done = new Promise((resolve) => ws.on('message', (data) => data.toString().includes('"invocationId":"1"') && resolve()))
  ws.send(JSON.stringify({ type: 1, invocationId: '1', target: 'RegisterAgent', arguments: [info(agentId)] }) + RS)
  await done
  return ws
}

async function openMany(open, n, from = 0) {
  const sockets = []
  for (let i = 0; i < n; i += 200) sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => open(from + i + j)))))
  return sockets
}

async function rawWsCost() {
  const proc = spawn(process.execPath, ['--expose-gc', new URL('./signalr-server-child.mjs', import.meta.url).pathname, 'ws'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: proc.stdout })
  const queue = []
  const waiters = []
  lines.on('line', (line) => (waiters.length ? waiters.shift()(JSON.parse(line)) : queue.push(JSON.parse(line))))
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)))
  const ask = (q) => (proc.stdin.write(q + '\n'), next())
  const { port } = await next()
  const open = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
    return ws
  }
  const warm = await openMany(open, 100)
  const before = (await ask('rss')).rss
  const sockets = await openMany(open, AGENTS)
  await new Promise((r) => setTimeout(r, 500))
  const after = (await ask('rss')).rss
  for (const s of [...warm, ...sockets]) s.terminate()
  proc.kill('SIGTERM')
  return (after - before) / AGENTS
}

export async function run() {
  const hubPort = await freePort()
  const hubUrl = `http://127.0.0.1:${hubPort}`
  const hub = thresh(['run', '--role', 'hub', '--storage', 'memory', '--no-tls', '--host', '127.0.0.1', '--port', String(hubPort)], {
    THRESH_HOME: mkdtempSync(join(tmpdir(), 'thresh-bench-hub-')),
    THRESH_ADMIN_PASSWORD: 'bench-password-1234',
  })
  await waitUp(`${hubUrl}/health`, hub)
  const login = await (await fetch(`${hubUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-password-1234' }) })).json()
  const createKey = async (type) =>
    (await (await fetch(`${hubUrl}/api/keys`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` }, body: JSON.stringify({ type, name: `bench-${type}` }) })).json()).key
  const liveKey = await createKey('agent')
  const midKey = await createKey('midtier')

  const midPort = await freePort()
  const midUrl = `http://127.0.0.1:${midPort}`
  const mid = thresh(['run', '--role', 'midtier', '--no-tls', '--host', '127.0.0.1', '--port', String(midPort), '--hub-url', hubUrl, '--api-key', midKey], {
    THRESH_HOME: mkdtempSync(join(tmpdir(), 'thresh-bench-mid-')),
  })
  await waitUp(`${midUrl}/health`, mid)
  // Like the official client: a ping every 15 s keeps the server's 30 s client timeout away.
  const live = []
  const pinger = setInterval(() => {
    for (const ws of live) if (ws.readyState === WebSocket.OPEN) ws.send(`{"type":6}${RS}`)
  }, 10_000)
  const open = async (i) => {
    const ws = await openAgent(midUrl, liveKey, `bench-agent-${i}`)
    live.push(ws)
    return ws
  }
  const warm = await openMany(open, 100, AGENTS)
  await new Promise((r) => setTimeout(r, 500))
  const before = await metric(midUrl, 'thresh_process_resident_memory_bytes')
  const started = performance.now()
  const agents = await openMany(open, AGENTS)
  const connectMs = performance.now() - started
  await new Promise((r) => setTimeout(r, 1000))
  const after = await metric(midUrl, 'thresh_process_resident_memory_bytes')
  const perAgent = (after - before) / AGENTS

  // Every agent reports once; the hub receives them in batches.
  const sentAt = performance.now()
  agents.forEach((ws, i) => ws.send(JSON.stringify({ type: 1, target: 'SendMetrics', arguments: [sample(`bench-agent-${i}`)] }) + RS))
  let delivered = 0
  for (let i = 0; i < 300; i++) {
    delivered = await metric(midUrl, 'midtier_metrics_samples_sent_total')
    if (delivered >= AGENTS) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const ingestMs = performance.now() - sentAt
  const batches = await metric(midUrl, 'midtier_metrics_batches_sent')
  const connected = await metric(midUrl, 'midtier_agents_connected')

  clearInterval(pinger)
  for (const s of [...warm, ...agents]) s.terminate()
  mid.proc.kill('SIGTERM')
  hub.proc.kill('SIGTERM')
  const rawPerConnection = await rawWsCost()

  return {
    rows: [
      ['agents held', `${connected} of ${AGENTS + 100}`],
      ['connect + register rate', `${Math.round((AGENTS / connectMs) * 1000)} agents/s`],
      ['mid-tier RSS per agent', `${(perAgent / 1024).toFixed(1)} KiB`],
      ['raw ws RSS per connection', `${(rawPerConnection / 1024).toFixed(1)} KiB`],
      ['one sample from every agent delivered', `${delivered} in ${Math.round(ingestMs)} ms, ${batches} batches`],
    ],
    ratio: { label: 'RSS per agent / raw ws', value: perAgent / rawPerConnection, target: '<= 2' },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run()
  for (const [label, value] of result.rows) console.log(`  ${label.padEnd(40)} ${value}`)
  console.log(`  ${('ratio: ' + result.ratio.label).padEnd(40)} ${result.ratio.value.toFixed(2)}  (target ${result.ratio.target})`)
  process.exit(0)
}
