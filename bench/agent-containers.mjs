// The agent's CPU with 100 running containers at the default 30 s metrics interval (issue #13):
// per-container CPU and memory come from the containers' cgroup files in every sample (Docker's
// one-shot stats only where those are not visible). Two agent processes run side by side against
// the same engine and gateway: the default, and, as the same-run baseline, per-container usage off
// (containerStatsInterval 0). CPU counts
// each process and the children it waited for; dockerd's own work is not the agent's and is not
// counted. Needs `npm run build`, Docker and the thresh-test/busybox:1 image
// (scripts/docker-test-images.sh). BENCH_CONTAINERS (default 100), BENCH_CONTAINERS_SECONDS
// (window, default 150), BENCH_CONTAINERS_WARMUP (default 40) and BENCH_CONTAINERS_INTERVAL
// (default 30s) change it. The containers are named thresh-bench-ctr-<run>-<n> and removed after.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const name = 'agent CPU with 100 containers (per-container usage) vs the same agent without it'

const COUNT = Number(process.env.BENCH_CONTAINERS ?? 100)
const SECONDS = Number(process.env.BENCH_CONTAINERS_SECONDS ?? 150)
const WARMUP = Number(process.env.BENCH_CONTAINERS_WARMUP ?? 40)
const INTERVAL = process.env.BENCH_CONTAINERS_INTERVAL ?? '30s'
const KEY = 'thresh_live_bench_0123456789abcdef0123456789abcdef'
const TICKS = 100 // USER_HZ on Linux

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14])
}

const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

async function startAgent(port, extra) {
  const home = mkdtempSync(join(tmpdir(), 'thresh-bench-ctr-'))
  const config = join(home, 'agent-config.json')
  writeFileSync(config, JSON.stringify({ midtierUrl: `http://127.0.0.1:${port}`, apiKey: KEY, metricsInterval: INTERVAL, logLevel: 'warn', ...extra }))
  return spawn(process.execPath, ['bin/thresh.mjs', 'run', '--role', 'agent', '--port', String(await freePort()), '--config', config], { env: { ...process.env, THRESH_HOME: home }, stdio: 'ignore' })
}

export async function run() {
  const { Hono } = await import('hono')
  const { loadRuntime } = await import('../dist/adapters/index.js')
  const { createAgentGateway, mountAgentHub } = await import('../dist/lib/agent-session/server/index.js')
  const { createSignalRServer } = await import('../dist/lib/signalr/index.js')

  const prefix = `thresh-bench-ctr-${process.pid}`
  const names = []
  try {
    for (let i = 0; i < COUNT; i++) {
      const name = `${prefix}-${i}`
      docker('run', '-d', '--name', name, '--label', 'thresh.bench=containers', 'thresh-test/busybox:1', 'sleep', '3600')
      names.push(name)
    }
    const runtime = await loadRuntime()
    const app = new Hono()
    const http = runtime.createServer(app)
    const gateway = createAgentGateway({ authenticate: () => ({ accountId: 'bench', keyId: 'k', scope: 'agent' }) })
    mountAgentHub(createSignalRServer({ app, upgradeWebSocket: http.upgradeWebSocket }), gateway)
    const seen = new Map()
    gateway.on('metrics', ({ agentId, metrics }) => {
      const list = Array.isArray(metrics.containers) ? metrics.containers : []
      const withUsage = list.filter((c) => typeof c === 'object' && typeof c.memoryMB === 'number').length
      seen.set(agentId, { samples: (seen.get(agentId)?.samples ?? 0) + 1, containers: list.length, withUsage })
    })
    const listening = await http.listen({ host: '127.0.0.1', port: 0 })
    const agents = [await startAgent(listening.port, {}), await startAgent(listening.port, { containerStatsInterval: 0 })]
    await new Promise((r) => setTimeout(r, WARMUP * 1000))
    const start = agents.map((p) => cpuTicks(p.pid))
    const t0 = Date.now()
    await new Promise((r) => setTimeout(r, SECONDS * 1000))
    const seconds = (Date.now() - t0) / 1000
    const [a, b] = agents.map((p, i) => (100 * (cpuTicks(p.pid) - start[i])) / TICKS / seconds)
    for (const p of agents) p.kill('SIGTERM')
    gateway.close()
    await listening.close()
    const reports = [...seen.values()]
    const full = reports.find((r) => r.withUsage > 0)
    return {
      rows: [
        ['window', `${SECONDS} s after ${WARMUP} s of warm-up, ${INTERVAL} interval, ${COUNT} containers of ours (+ others running)`],
        ['containers in a sample (with usage)', full ? `${full.containers} (${full.withUsage})` : 'no sample with usage'],
        ['agent CPU, default (usage every sample)', `${a.toFixed(3)} % of a core`],
        ['agent CPU, per-container usage off', `${b.toFixed(3)} % of a core`],
      ],
      ratio: [
        { label: 'default agent CPU % of a core / 0.5', value: a / 0.5, target: '<= 1.00' },
        { label: 'default / stats off', value: b > 0 ? a / b : Number.POSITIVE_INFINITY, target: 'none: the cost of per-container usage' },
      ],
    }
  } finally {
    for (let i = 0; i < names.length; i += 50) docker('rm', '-f', ...names.slice(i, i + 50))
  }
}
