// The agent's steady footprint at a 5 s metrics interval, connected to an agent gateway, against a
// same-run baseline: a bare Node process with ws and systeminformation loaded that samples every 5 s.
// Both run side by side; after a warm-up that lets V8's start-up GC (its memory reducer runs ~8 s
// in) settle in both, RSS is read from /proc every second and the window's median is compared (the
// max is shown too); CPU counts each process and the children it waited for (a forked `df`).
// The agent runs with V8's --no-opt (bin/thresh.mjs sets it for agent processes); the same baseline
// under --no-opt is measured too, so the part of the ratio that flag explains is visible.
// Needs `npm run build`. BENCH_AGENT_SECONDS sets the window (default 300: 60 samples at the 5 s interval; the target speaks of an hour, which BENCH_AGENT_SECONDS=3600 measures), BENCH_AGENT_WARMUP the
// warm-up (default 15 s).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const name = 'agent footprint (RSS, CPU) vs Node with ws + systeminformation'

const SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 300)
const WARMUP = Number(process.env.BENCH_AGENT_WARMUP ?? 15)
const KEY = 'thresh_live_bench_0123456789abcdef0123456789abcdef'
const TICKS = 100 // USER_HZ on Linux

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

export function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  // utime, stime, and cutime, cstime: CPU of the children it has waited for.
  const cpuTicks = Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14])
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  return { cpuTicks, rssKb }
}

export const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1]

export async function measure(child) {
  await new Promise((r) => setTimeout(r, WARMUP * 1000))
  const start = sample(child.pid)
  const t0 = Date.now()
  const rss = []
  while (Date.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000))
    rss.push(sample(child.pid).rssKb / 1024)
  }
  const end = sample(child.pid)
  const seconds = (Date.now() - t0) / 1000
  child.kill('SIGTERM')
  return { rssMb: median(rss), rssMaxMb: Math.max(...rss), cpuPercent: (100 * (end.cpuTicks - start.cpuTicks)) / TICKS / seconds }
}

const BASELINE = `
import 'ws'
import si from 'systeminformation'
import os from 'node:os'
setInterval(async () => { await si.mem(); os.cpus(); os.uptime() }, 5000)
`

export async function run() {
  const { Hono } = await import('hono')
  const { loadRuntime } = await import('../dist/adapters/index.js')
  const { createAgentGateway, mountAgentHub } = await import('../dist/lib/agent-session/server/index.js')
  const { createSignalRServer } = await import('../dist/lib/signalr/index.js')
  const runtime = await loadRuntime()
  const app = new Hono()
  const http = runtime.createServer(app)
  const gateway = createAgentGateway({ authenticate: () => ({ accountId: 'bench', keyId: 'k', scope: 'agent' }) })
  mountAgentHub(createSignalRServer({ app, upgradeWebSocket: http.upgradeWebSocket }), gateway)
  let samples = 0
  gateway.on('metrics', () => samples++)
  const listening = await http.listen({ host: '127.0.0.1', port: 0 })

  const home = mkdtempSync(join(tmpdir(), 'thresh-bench-agent-'))
  const config = join(home, 'agent-config.json')
  writeFileSync(config, JSON.stringify({ midtierUrl: `http://127.0.0.1:${listening.port}`, apiKey: KEY, metricsInterval: '5s', logLevel: 'warn' }))
  const agent = spawn(process.execPath, ['bin/thresh.mjs', 'run', '--role', 'agent', '--port', String(await freePort()), '--config', config], {
    env: { ...process.env, THRESH_HOME: home },
    stdio: 'ignore',
  })
  // Evaluated from the repo root, so `ws` and `systeminformation` resolve from its node_modules.
  const baseline = spawn(process.execPath, ['--input-type=module', '-e', BASELINE], { stdio: 'ignore' })
  const baselineNoOpt = spawn(process.execPath, ['--no-opt', '--input-type=module', '-e', BASELINE], { stdio: 'ignore' })

  const [a, b, c] = await Promise.all([measure(agent), measure(baseline), measure(baselineNoOpt)])
  gateway.close()
  await listening.close()
  return {
    rows: [
      [`window`, `${SECONDS} s after ${WARMUP} s of warm-up, 5 s interval`],
      ['metric samples received', String(samples)],
      ['agent RSS (median, max)', `${a.rssMb.toFixed(1)} MB, ${a.rssMaxMb.toFixed(1)} MB`],
      ['baseline RSS (ws + systeminformation)', `${b.rssMb.toFixed(1)} MB, ${b.rssMaxMb.toFixed(1)} MB`],
      ['same baseline under --no-opt', `${c.rssMb.toFixed(1)} MB, ${c.rssMaxMb.toFixed(1)} MB`],
      ['agent CPU (with children)', `${a.cpuPercent.toFixed(3)} % of a core`],
      ['baseline CPU', `${b.cpuPercent.toFixed(3)} % of a core`],
    ],
    ratio: [
      { label: 'agent RSS / baseline RSS (medians)', value: a.rssMb / b.rssMb, target: '<= 1.25' },
      { label: 'agent RSS / --no-opt baseline', value: a.rssMb / c.rssMb, target: 'none: same V8 flags, for reference' },
      { label: 'agent CPU % of a core / 0.5', value: a.cpuPercent / 0.5, target: '<= 1.00' },
    ],
  }
}
