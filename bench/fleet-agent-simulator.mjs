// A child process holding many simulated agents, for the fleet benchmarks (not a scenario itself).
// `signalr` mode speaks the real agent protocol to a mid-tier (WebSockets without negotiate as the
// agent first tries, or with negotiate as official clients and the original thresh agent do when
// `negotiate` is set; JSON handshake, RegisterAgent, SendMetrics, answering ExecuteCommand with
// SendCommandResult); `raw` mode is the
// same-run baseline over bare `ws` to a raw relay. A lost connection is retried after a delay
// jittered in [base/2, base] like the real agent's `reconnect-delay`. Each agent connects from its own
// loopback address (127.1.x.y, then 127.2.x.y… past 62,500), as real agents come from their own hosts:
// from one address, 10,000 agents reconnecting at once exhaust the ephemeral ports and the kernel's
// port search dominates. Several simulators share a fleet with `from` (ids `prefix-from` onwards).
// With `awaitAnswers`, an agent has one SendMetrics unanswered at most, as the real agent's outbox
// drains (a report due meanwhile goes out when the answer comes; up to 10 wait, older ones are dropped).
// Config: one JSON line on stdin; then `count` answers {registered, failures}, `reconnect MS` sets the
// delay, `negotiate on|off` switches negotiate, `pause`/`resume` stop and restart reporting. Prints {ready, ms} once all are up.
import { request } from 'node:http'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'

const RS = '\x1e'
const lines = createInterface({ input: process.stdin })
const config = await new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line))))
const { mode, url, key, count, from = 0, prefix = 'sim', reportMs = 5000, concurrency = 200, awaitAnswers = false } = config
const MAX_DUE = 10
let reconnectMs = config.reconnectMs ?? 5000
let useNegotiate = config.negotiate === true
const registered = new Set()
const sockets = new Map()
const failures = new Map()
let stopping = false
let paused = false

const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')
const jitter = (base) => base / 2 + Math.random() * (base / 2)

function info(agentId) {
  return { agentId, hostname: agentId, platform: 'linux', osVersion: '6', threshVersion: '0.1.0', ipAddress: '127.0.0.1', architecture: 'x64', containerRuntime: 'docker', cpuCores: 2, ramTotalGb: 4, diskTotalGb: 40, registeredAt: new Date().toISOString() }
}

function sample(agentId) {
  return { agentId, timestamp: new Date().toISOString(), cpuPercent: 10, cpuPerCore: [10, 10], memoryUsedMB: 500, memoryTotalMB: 4000, diskUsedGB: 10, diskTotalGB: 40, disks: [{ mount: '/', usedGB: 10, totalGB: 40 }], containersRunning: 0, containers: [], environmentCount: 0, uptimeSeconds: 1 }
}

function versionResult(agentId, commandId) {
  const output = JSON.stringify({ agentId, version: '0.1.0' })
  return { agentId, commandId, status: 'success', success: true, output, error: '', timestamp: new Date().toISOString(), durationMs: 0 }
}

const sourceOf = (agentId) => {
  const i = Number(agentId.slice(agentId.lastIndexOf('-') + 1))
  return `127.${1 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`
}

function negotiate(agentId, headers) {
  const target = new URL(`${url}/agenthub/negotiate?negotiateVersion=1`)
  return new Promise((resolve, reject) => {
    const req = request({ method: 'POST', host: target.hostname, port: target.port, path: target.pathname + target.search, headers, localAddress: sourceOf(agentId), agent: false }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`negotiate answered ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end()
  })
}

async function openSignalR(agentId) {
  const headers = { authorization: `Bearer ${key}` }
  const query = useNegotiate ? `?id=${(await negotiate(agentId, headers)).connectionToken}` : ''
  const ws = new WebSocket(`${url.replace('http', 'ws')}/agenthub${query}`, { headers, localAddress: sourceOf(agentId) })
  ws.on('error', () => {})
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  let invocation = 0
  const invoke = (target, arg) => ws.send(JSON.stringify({ type: 1, invocationId: String(++invocation), target, arguments: [arg] }) + RS)
  // The SendMetrics waiting for its answer (with awaitAnswers), and how many reports are due after it.
  let metricsId
  let due = 0
  const sendMetrics = () => {
    invoke('SendMetrics', sample(agentId))
    if (awaitAnswers) metricsId = String(invocation)
  }
  await new Promise((resolve, reject) => {
    let handshaken = false
    ws.on('message', (data) => {
      for (const frame of data.toString().split(RS)) {
        if (!frame) continue
        const message = JSON.parse(frame)
        if (!handshaken) {
          handshaken = true
          if (message.error) return reject(new Error(message.error))
          invoke('RegisterAgent', info(agentId))
        } else if (message.type === 3 && message.invocationId === '1') {
          if (message.error) reject(new Error(message.error))
          else resolve()
        } else if (message.type === 3 && message.invocationId === metricsId) {
          metricsId = undefined
          if (due > 0 && !paused) {
            due--
            sendMetrics()
          }
        } else if (message.type === 1 && message.target === 'ExecuteCommand') {
          invoke('SendCommandResult', versionResult(agentId, message.arguments[0].commandId))
        }
      }
    })
    ws.once('close', () => reject(new Error('closed before registering')))
    ws.send(`{"protocol":"json","version":1}${RS}`)
  })
  // Like the official client, a ping only after 15 s without sending anything else.
  let sentAt = performance.now()
  return {
    ws,
    // With an invocation id, as the agent sends it: the server answers each with a completion.
    report: () => {
      sentAt = performance.now()
      if (metricsId === undefined) sendMetrics()
      else if (due < MAX_DUE) due++
    },
    ping: () => performance.now() - sentAt >= 15_000 && ((sentAt = performance.now()), ws.send(`{"type":6}${RS}`)),
  }
}

async function openRaw(agentId) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/agent/${agentId}`, { localAddress: sourceOf(agentId) })
  ws.on('error', () => {})
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
  ws.on('message', (data) => {
    const command = JSON.parse(data.toString())
    ws.send(JSON.stringify({ result: versionResult(agentId, command.commandId) }))
  })
  return { ws, report: () => ws.send(JSON.stringify({ metrics: sample(agentId) })), ping: () => {} }
}

const open = mode === 'raw' ? openRaw : openSignalR

/** Connects one agent, retrying after a jittered delay until it is registered; reconnects on loss. */
async function keep(agentId, retry = true) {
  for (;;) {
    try {
      const agent = await open(agentId)
      sockets.set(agentId, agent)
      registered.add(agentId)
      agent.ws.once('close', () => {
        registered.delete(agentId)
        sockets.delete(agentId)
        if (!stopping) setTimeout(() => void keep(agentId), jitter(reconnectMs))
      })
      agent.ws.on('error', () => {})
      return
    } catch (error) {
      const reason = String(error?.code ?? error?.message ?? error).slice(0, 60)
      failures.set(reason, (failures.get(reason) ?? 0) + 1)
      if (!retry || stopping) throw error
      await new Promise((r) => setTimeout(r, jitter(reconnectMs)))
    }
  }
}

const ids = Array.from({ length: count }, (_, i) => `${prefix}-${from + i}`)
const started = performance.now()
for (let i = 0; i < ids.length; i += concurrency) await Promise.all(ids.slice(i, i + concurrency).map((id) => keep(id)))
say({ ready: registered.size, ms: performance.now() - started })

// Each agent reports every `reportMs`, spread evenly; a SignalR ping after 15 s of silence keeps the server's timeout away.
let cursor = 0
const perTick = Math.max(1, Math.ceil(ids.length / (reportMs / 50)))
if (reportMs > 0) {
  setInterval(() => {
    if (paused) return
    for (let i = 0; i < perTick; i++) sockets.get(ids[cursor++ % ids.length])?.report()
  }, 50)
}
setInterval(() => {
  for (const agent of sockets.values()) agent.ping()
}, 5_000)

lines.on('line', (line) => {
  if (line === 'count') say({ registered: registered.size, failures: Object.fromEntries(failures) })
  if (line.startsWith('reconnect ')) reconnectMs = Number(line.slice('reconnect '.length))
  if (line.startsWith('negotiate ')) useNegotiate = line === 'negotiate on'
  if (line === 'pause' || line === 'resume') paused = line === 'pause'
  if (line === 'stop') {
    stopping = true
    for (const agent of sockets.values()) agent.ws.terminate()
    process.exit(0)
  }
})
