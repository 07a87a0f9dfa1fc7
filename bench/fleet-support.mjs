// Shared parts of the fleet benchmarks (not a scenario itself): a hub in this process (so commands
// can be sent through its fleet service), a real mid-tier process, the agent simulator child, and the
// raw two-hop `ws` relay that is the same-run baseline. Needs `npm run build` first.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export const root = new URL('..', import.meta.url).pathname
const PASSWORD = 'bench-password-1234'

export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** One agent report in the agents' MetricsData shape, varying with the agent (`i`) and the batch (`b`) so nothing compresses for free. */
export function reportSample(agentId, timestamp, i, b) {
  return {
    agentId,
    timestamp,
    cpuPercent: (i * 7 + b) % 100,
    cpuPerCore: [1, 2, 3, 4],
    memoryUsedMB: 4000 + i,
    memoryTotalMB: 16000,
    diskUsedGB: 40,
    diskTotalGB: 100,
    disks: [{ mount: '/', usedGB: 40, totalGB: 100 }],
    containersRunning: 3,
    containers: [],
    environmentCount: 1,
    uptimeSeconds: 1000 + b,
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// A scenario that throws must not leave 10,000 simulated agents or a mid-tier running.
const children = new Set()
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130))
function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/**
 * Spawns Node with its open-files limit raised to the hard limit first (`ulimit -n` in a shell that
 * then execs Node, so the pid is Node's): a process holding N connections needs N descriptors.
 */
export function spawnNode(args, options) {
  return spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args], options)
}

/** The hard open-files limit of this process (children cannot go above it without CAP_SYS_RESOURCE). */
export function hardFileLimit() {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
  const hard = line?.trim().split(/\s+/)[4]
  return hard === undefined || hard === 'unlimited' ? Infinity : Number(hard)
}

/** Resident memory of a process, bytes, from /proc. */
export function residentBytes(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return Number(line.split(/\s+/)[1]) * 1024
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** A child process speaking JSON lines: `ask(line)` resolves with the next line it prints. */
export function lineChild(proc) {
  const queue = []
  const waiters = []
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const value = JSON.parse(line)
    if (waiters.length) waiters.shift()(value)
    else queue.push(value)
  })
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)))
  return { next, ask: (line) => (proc.stdin.write(line + '\n'), next()) }
}

export const databaseUrl = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/**
 * The hub role in this process; `runTool` sends a command to a node through its fleet service. Memory
 * storage, or with `{ postgres: schema }` PostgreSQL in that schema (dropped by `stop`).
 */
export async function startHub({ postgres: schema } = {}) {
  const { startRole } = await import('../dist/roles/start-role.js')
  const home = mkdtempSync(join(tmpdir(), 'thresh-bench-hub-'))
  let configPath
  if (schema) {
    configPath = join(home, 'hub.json')
    writeFileSync(configPath, JSON.stringify({ databaseUrl, pluginOptions: { 'storage-postgres': { schema } } }))
  }
  const role = await startRole({
    role: 'hub',
    configPath,
    flags: { port: 0, host: '127.0.0.1', tls: false, logLevel: 'error', storage: schema ? 'postgres' : 'memory', registrationBurst: 1_000_000, maxNodesPerAccount: 1_000_000 },
    env: { THRESH_HOME: home, THRESH_ADMIN_PASSWORD: PASSWORD },
  })
  const api = async (method, path, body, token) =>
    (await fetch(role.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body && JSON.stringify(body) })).json()
  const { accessToken } = await api('POST', '/api/auth/login', { username: 'admin', password: PASSWORD })
  const liveKey = (await api('POST', '/api/keys', { type: 'agent', name: 'bench-agents' }, accessToken)).key
  const midKey = (await api('POST', '/api/keys', { type: 'midtier', name: 'bench-mid' }, accessToken)).key
  const accountId = /^thresh_live_([^_]+)_/.exec(liveKey)[1]
  const fleet = role.thresh.use('fleet')
  const principal = { kind: 'cli', accountId, userName: 'admin', roles: ['admin'] }
  return {
    url: role.url,
    accountId,
    liveKey,
    midKey,
    fleet,
    runTool: (node, tool, timeoutMs = 10_000) => fleet.runTool(principal, node, tool, {}, timeoutMs),
    /** Nodes the hub lists as online (registered through the mid-tier, reporting). */
    online: async () => (await fleet.listNodes(accountId)).filter((n) => n.status === 'online').length,
    async stop() {
      await role.stop()
      if (!schema) return
      const { default: postgres } = await import('postgres')
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
      await sql.unsafe(`drop schema if exists "${schema}" cascade`)
      await sql.end()
    },
  }
}

/** A real mid-tier process (`thresh run --role midtier`) that can be killed and started again on its port and home. */
export async function startMidtier(hubUrl, midKey, { nodeArgs: defaultNodeArgs = [] } = {}) {
  const port = await freePort()
  const home = mkdtempSync(join(tmpdir(), 'thresh-bench-mid-'))
  const url = `http://127.0.0.1:${port}`
  const mid = {
    url,
    proc: undefined,
    /** `nodeArgs` (e.g. --cpu-prof) go to Node before the CLI. */
    async start(nodeArgs = defaultNodeArgs) {
      const proc = track(
        spawnNode([...nodeArgs, join(root, 'bin/thresh.mjs'), 'run', '--role', 'midtier', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--hub-url', hubUrl, '--api-key', midKey], {
          env: { ...process.env, NO_COLOR: '1', THRESH_LOG_LEVEL: 'warn', THRESH_HOME: home },
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
      )
      let output = ''
      proc.stderr.on('data', (c) => {
        output = (output + c).slice(-4000)
        // Started with --inspect=127.0.0.1:0: where to ask it for a full GC (collectGarbage below).
        mid.inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1]
      })
      mid.proc = proc
      mid.inspectorUrl = undefined
      mid.output = () => output
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`the mid-tier exited: ${output}`)
        try {
          await fetch(`${url}/health`)
          return
        } catch {
          await sleep(20)
        }
      }
    },
    kill() {
      mid.proc.kill('SIGKILL')
      return new Promise((resolve) => (mid.proc.exitCode !== null ? resolve() : mid.proc.once('exit', resolve)))
    },
    /** A full garbage collection in the mid-tier, through its inspector (start it with --inspect=127.0.0.1:0). */
    async collectGarbage() {
      const { default: WebSocket } = await import('ws')
      const ws = new WebSocket(mid.inspectorUrl)
      await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
      const done = new Promise((resolve) => ws.on('message', (data) => JSON.parse(data.toString()).id === 1 && resolve()))
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
      await done
      ws.close()
    },
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text()
      const line = text.split('\n').find((l) => l.startsWith(name + ' '))
      return line ? Number(line.split(' ')[1]) : NaN
    },
  }
  await mid.start()
  return mid
}

/** The agent simulator child holding `count` agents; resolves once all are registered. */
export async function startAgents({ nodeArgs = [], ...options }) {
  const proc = track(spawnNode([...nodeArgs, join(root, 'bench/fleet-agent-simulator.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] }))
  const child = lineChild(proc)
  proc.stdin.write(JSON.stringify(options) + '\n')
  const ready = await child.next()
  return {
    ...ready,
    ids: Array.from({ length: options.count }, (_, i) => `${options.prefix ?? 'sim'}-${(options.from ?? 0) + i}`),
    registered: async () => (await child.ask('count')).registered,
    /** Failed connection attempts so far, by reason. */
    failures: async () => (await child.ask('count')).failures,
    setReconnectDelay: (ms) => proc.stdin.write(`reconnect ${ms}\n`),
    /** Whether agents negotiate before WebSockets (official clients, the original agent) or go straight there (thresh's agent). */
    setNegotiate: (on) => proc.stdin.write(`negotiate ${on ? 'on' : 'off'}\n`),
    pause: () => proc.stdin.write('pause\n'),
    resume: () => proc.stdin.write('resume\n'),
    pid: proc.pid,
    stop: () => (proc.stdin.write('stop\n'), new Promise((resolve) => proc.once('exit', resolve))),
  }
}

/**
 * A synthetic mid-tier child (bench/fleet-synthetic-midtier.mjs) holding `count` agents on `hubUrl`;
 * resolves once all are registered. `stats()` returns and resets its batch acks and counts.
 */
export async function startSyntheticMidtier(options) {
  const proc = track(spawn(process.execPath, [join(root, 'bench/fleet-synthetic-midtier.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] }))
  const child = lineChild(proc)
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  proc.stdin.write(JSON.stringify(options) + '\n')
  const ready = await Promise.race([child.next(), exited.then((code) => Promise.reject(new Error(`the synthetic mid-tier exited (${code})`)))])
  return {
    ...ready,
    pid: proc.pid,
    stats: () => child.ask('stats'),
    stop: () => (proc.stdin.write('stop\n'), exited),
  }
}

// The baseline: agents connect to /agent/<id>, the "hub" to /hub; commands and results are relayed
// by agent id, metrics forwarded upstream as they come. Nothing else: no auth, no framing, no state.
const RELAY = `
import { WebSocketServer } from 'ws'
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
const agents = new Map()
let hub
server.on('connection', (ws, req) => {
  ws.on('error', () => {})
  if (req.url === '/hub') {
    hub = ws
    ws.on('message', (data) => {
      const { agentId, command } = JSON.parse(data.toString())
      agents.get(agentId)?.send(JSON.stringify(command))
    })
    return
  }
  const agentId = req.url.slice('/agent/'.length)
  agents.set(agentId, ws)
  ws.on('message', (data) => hub?.send(data))
  ws.on('close', () => agents.get(agentId) === ws && agents.delete(agentId))
})
server.on('listening', () => console.log(JSON.stringify({ port: server.address().port })))
`

/** The raw two-hop relay in its own process; `send(agentId, commandId)` resolves when the result is back. */
export async function startRawRelay() {
  const proc = track(spawn(process.execPath, ['--input-type=module', '-e', RELAY], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] }))
  const { port } = await lineChild(proc).next()
  const url = `http://127.0.0.1:${port}`
  const { default: WebSocket } = await import('ws')
  const hub = new WebSocket(`ws://127.0.0.1:${port}/hub`)
  await new Promise((resolve, reject) => (hub.once('open', resolve), hub.once('error', reject)))
  const pending = new Map()
  let samples = 0
  hub.on('message', (data) => {
    const message = JSON.parse(data.toString())
    if (message.metrics) samples++
    else pending.get(message.result.commandId)?.(message.result)
  })
  return {
    url,
    samples: () => samples,
    send: (agentId, commandId) =>
      new Promise((resolve) => {
        pending.set(commandId, (result) => (pending.delete(commandId), resolve(result)))
        hub.send(JSON.stringify({ agentId, command: { commandId, tool: 'get_version', arguments: {} } }))
      }),
    stop: () => (hub.terminate(), proc.kill('SIGTERM')),
  }
}
