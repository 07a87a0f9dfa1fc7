// A synthetic mid-tier holding many simulated agents, for bench/fleet-scale.mjs (not a scenario itself).
// It speaks the hub side of the mid-tier protocol as `thresh run --role midtier` does (docs/protocol.md):
// RegisterMidTier, RegisterAgents in chunks, SendMetricsBatch of the samples its agents reported
// (flushed every `batchMs` or at `batchSize` samples, up to 4 batches in flight), and answers each
// ExecuteCommand with SendCommandResult at once. It keeps no agent sockets: the hub sees what a real
// mid-tier sends it, at a fraction of the CPU, so 40,000 agents fit on this machine beside the hub.
// Config: one JSON line on stdin {url, key, count, prefix, reportMs, batchMs, batchSize, midtierId};
// prints {ready, ms} once every agent is registered; then `stats` answers and resets
// {acks: [ms...], samples, failed, commands}; `stop` exits.
import { createInterface } from 'node:readline'
import WebSocket from 'ws'

const RS = '\x1e'
const lines = createInterface({ input: process.stdin })
const config = await new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line))))
const { url, key, count, prefix = 'sim', reportMs = 30_000, batchMs = 5000, batchSize = 1000, midtierId = prefix, inFlightMax = 4 } = config
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')

const headers = { authorization: `Bearer ${key}` }
const negotiated = await (await fetch(`${url}/midtierhub/negotiate?negotiateVersion=1`, { method: 'POST', headers })).json()
const ws = new WebSocket(`${url.replace('http', 'ws')}/midtierhub?id=${negotiated.connectionToken}`, { headers, perMessageDeflate: false })
await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
ws.on('error', () => {})
ws.once('close', (code, reason) => {
  if (!stopping) {
    console.error(`[synthetic mid-tier ${midtierId}] the hub closed the connection (${code} ${reason})`)
    process.exit(1)
  }
})

let stopping = false
let invocation = 0
const completions = new Map()
const invoke = (target, ...args) =>
  new Promise((resolve, reject) => {
    const id = String(++invocation)
    completions.set(id, (message) => (message.error ? reject(new Error(message.error)) : resolve(message.result)))
    ws.send(JSON.stringify({ type: 1, invocationId: id, target, arguments: args }) + RS)
  })
const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
let commands = 0

await new Promise((resolve) => {
  ws.once('message', resolve)
  ws.send(`{"protocol":"json","version":1}${RS}`)
})
ws.on('message', (data) => {
  for (const frame of String(data).split(RS)) {
    if (!frame) continue
    const message = JSON.parse(frame)
    if (message.type === 3) {
      completions.get(message.invocationId)?.(message)
      completions.delete(message.invocationId)
    } else if (message.type === 1 && message.target === 'ExecuteCommand') {
      const [agentId, command] = message.arguments
      commands++
      const output = JSON.stringify({ agentId, version: '0.1.0', blueprints: [] })
      const result = { agentId, commandId: command.commandId, status: 'success', success: true, output, error: '', timestamp: new Date().toISOString(), durationMs: 0 }
      ws.send(JSON.stringify({ type: 1, target: 'SendCommandResult', arguments: [result] }) + RS)
    } else if (message.type === 6) {
      ws.send(`{"type":6}${RS}`)
    }
  }
})

const info = (agentId) => ({ agentId, hostname: agentId, platform: 'linux', osVersion: '6', threshVersion: '0.1.0', ipAddress: '127.0.0.1', architecture: 'x64', containerRuntime: 'docker', cpuCores: 2, ramTotalGb: 4, diskTotalGb: 40, registeredAt: new Date().toISOString() })
const sample = (agentId) => ({ agentId, timestamp: new Date().toISOString(), cpuPercent: Math.round(Math.random() * 1000) / 10, cpuPerCore: [10, 10], memoryUsedMB: 500, memoryTotalMB: 4000, diskUsedGB: 10, diskTotalGB: 40, disks: [{ mount: '/', usedGB: 10, totalGB: 40 }], containersRunning: 0, containers: [], environmentCount: 0, uptimeSeconds: 1 })

// A ping while nothing else is sent, as the real client does: the hub drops a connection silent for 30 s,
// and registering thousands of agents leaves the connection waiting on completions for longer than that.
setInterval(() => ws.send(`{"type":6}${RS}`), 10_000)

const started = performance.now()
await invoke('RegisterMidTier', { midtierId })
// Four chunks in flight, as the hub runs four invocations of a mid-tier at once.
const chunks = []
for (let i = 0; i < ids.length; i += 500) chunks.push(ids.slice(i, i + 500))
await Promise.all(Array.from({ length: 4 }, async () => {
  for (let chunk; (chunk = chunks.shift()); ) await invoke('RegisterAgents', chunk.map(info))
}))
say({ ready: ids.length, ms: performance.now() - started })

// Each agent reports every `reportMs`, spread evenly; the mid-tier batches as the real one does.
let buffer = []
let acks = []
let sent = 0
let failed = 0
let inFlight = 0
const send = () => {
  while (buffer.length > 0 && inFlight < inFlightMax) {
    const batch = buffer.splice(0, batchSize)
    const at = performance.now()
    inFlight++
    invoke('SendMetricsBatch', batch).then(
      () => acks.push(performance.now() - at),
      () => failed++,
    ).finally(() => {
      inFlight--
      sent += batch.length
      if (buffer.length >= batchSize) send()
    })
  }
}
let cursor = 0
const perTick = ids.length / (reportMs / 50)
let owed = 0
setInterval(() => {
  owed += perTick
  for (; owed >= 1; owed--) buffer.push(sample(ids[cursor++ % ids.length]))
  if (buffer.length >= batchSize) send()
}, 50)
setInterval(send, batchMs)

lines.on('line', (line) => {
  if (line === 'stats') {
    say({ acks, samples: sent, failed, commands, buffered: buffer.length })
    acks = []
    sent = 0
    failed = 0
    commands = 0
  }
  if (line === 'stop') {
    stopping = true
    ws.close()
    process.exit(0)
  }
})
