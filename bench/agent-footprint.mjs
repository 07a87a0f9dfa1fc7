// The agent's steady footprint at a 5 s metrics interval, connected to an agent gateway, against a
// same-run baseline: a bare Node process with ws and systeminformation loaded that samples every 5 s.
// RSS and CPU come from /proc. Needs `npm run build`. BENCH_AGENT_SECONDS sets the window (default 60).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const name = 'agent footprint (RSS, CPU) vs Node with ws + systeminformation'

const SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 60)
const KEY = 'thresh_live_bench_0123456789abcdef0123456789abcdef'
const TICKS = 100 // USER_HZ on Linux

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const cpuTicks = Number(stat[11]) + Number(stat[12])
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  return { cpuTicks, rssKb }
}

async function measure(child, warmupMs) {
  await new Promise((r) => setTimeout(r, warmupMs))
  const start = sample(child.pid)
  const t0 = Date.now()
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  const end = sample(child.pid)
  const seconds = (Date.now() - t0) / 1000
  child.kill('SIGTERM')
  return { rssMb: end.rssKb / 1024, cpuPercent: (100 * (end.cpuTicks - start.cpuTicks)) / TICKS / seconds }
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
  const { createAgentGateway, mountAgentHub } = await import('../dist/lib/agent-session/index.js')
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

  const [a, b] = await Promise.all([measure(agent, 5000), measure(baseline, 5000)])
  gateway.close()
  await listening.close()
  // dockerode, which runtime-docker imports at start, is most of the RSS gap (about 20 MB here).
  return {
    rows: [
      [`window`, `${SECONDS} s at a 5 s interval`],
      ['metric samples received', String(samples)],
      ['agent RSS', `${a.rssMb.toFixed(1)} MB`],
      ['baseline RSS (ws + systeminformation)', `${b.rssMb.toFixed(1)} MB`],
      ['agent CPU', `${a.cpuPercent.toFixed(3)} % of a core`],
      ['baseline CPU', `${b.cpuPercent.toFixed(3)} % of a core`],
    ],
    ratio: [
      { label: 'agent RSS / baseline RSS', value: a.rssMb / b.rssMb, target: '<= 1.25' },
      { label: 'agent CPU % of a core / 0.5', value: a.cpuPercent / 0.5, target: '<= 1.00' },
    ],
  }
}
