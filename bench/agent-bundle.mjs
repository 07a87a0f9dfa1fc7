// The single-file agent (dist/thresh-agent.mjs, `npm run build:agent`) against the current agent
// (`thresh run --role agent` from the repo), in the same run, both connected to one agent gateway:
// - the bundle's size (budget 3 MB);
// - steady RSS side by side at a 5 s metrics interval, after a warm-up (median over the window, as in
//   agent-footprint.mjs; both run under --no-opt, which bin/thresh.mjs and the bundle's banner set);
// - start to connected: from spawn to the gateway's RegisterAgent, one agent at a time, alternating
//   current and bundle for BENCH_BUNDLE_ROUNDS rounds (default 7), medians compared.
// Needs `npm run build` (the bundle is rebuilt here). BENCH_AGENT_SECONDS / BENCH_AGENT_WARMUP as in
// agent-footprint.mjs.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, measure, median } from './agent-footprint.mjs'

export const name = 'single-file agent (size, RSS, start to connected) vs thresh run --role agent'

const ROUNDS = Number(process.env.BENCH_BUNDLE_ROUNDS ?? 7)
const KEY = 'thresh_live_bench_0123456789abcdef0123456789abcdef'
const bundle = new URL('../dist/thresh-agent.mjs', import.meta.url).pathname

async function spawnAgent(kind, gatewayUrl, extra = {}) {
  const home = mkdtempSync(join(tmpdir(), `thresh-bench-${kind}-`))
  const config = join(home, 'agent-config.json')
  writeFileSync(config, JSON.stringify({ midtierUrl: gatewayUrl, apiKey: KEY, metricsInterval: '5s', logLevel: 'warn', ...extra }))
  const args = ['--port', String(await freePort()), '--config', config]
  const argv = kind === 'bundle' ? [bundle, ...args] : ['bin/thresh.mjs', 'run', '--role', 'agent', ...args]
  // The bundle runs from its own empty directory, as on a node.
  return spawn(process.execPath, argv, { cwd: kind === 'bundle' ? home : process.cwd(), env: { ...process.env, THRESH_HOME: home }, stdio: 'ignore' })
}

export async function run() {
  execFileSync(process.execPath, ['scripts/build-agent.mjs', '--no-sea'], { stdio: 'ignore' })
  const bytes = statSync(bundle).size
  const { Hono } = await import('hono')
  const { loadRuntime } = await import('../dist/adapters/index.js')
  const { createAgentGateway, mountAgentHub } = await import('../dist/lib/agent-session/server/index.js')
  const { createSignalRServer } = await import('../dist/lib/signalr/index.js')
  const runtime = await loadRuntime()
  const app = new Hono()
  const http = runtime.createServer(app)
  const gateway = createAgentGateway({ authenticate: () => ({ accountId: 'bench', keyId: 'k', scope: 'agent' }) })
  mountAgentHub(createSignalRServer({ app, upgradeWebSocket: http.upgradeWebSocket }), gateway)
  const listening = await http.listen({ host: '127.0.0.1', port: 0 })
  const gatewayUrl = `http://127.0.0.1:${listening.port}`
  let registered = () => {}
  gateway.on('register', () => registered())

  const startTimes = { current: [], bundle: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 ? ['bundle', 'current'] : ['current', 'bundle']) {
      const connected = new Promise((resolve) => (registered = resolve))
      const t0 = performance.now()
      const child = await spawnAgent(kind, gatewayUrl)
      await connected
      startTimes[kind].push(performance.now() - t0)
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    }
  }

  const [current, single] = await Promise.all([measure(await spawnAgent('current', gatewayUrl)), measure(await spawnAgent('bundle', gatewayUrl))])
  gateway.close()
  await listening.close()
  const startCurrent = median(startTimes.current)
  const startBundle = median(startTimes.bundle)
  return {
    rows: [
      ['bundle size', `${(bytes / 1024 / 1024).toFixed(2)} MB`],
      ['current agent RSS (median, max)', `${current.rssMb.toFixed(1)} MB, ${current.rssMaxMb.toFixed(1)} MB`],
      ['single-file agent RSS (median, max)', `${single.rssMb.toFixed(1)} MB, ${single.rssMaxMb.toFixed(1)} MB`],
      ['start to connected, current (median)', `${startCurrent.toFixed(0)} ms of ${ROUNDS}`],
      ['start to connected, single file', `${startBundle.toFixed(0)} ms of ${ROUNDS}`],
    ],
    ratio: [
      { label: 'bundle size / 3 MB', value: bytes / (3 * 1024 * 1024), target: '<= 1.00' },
      { label: 'single-file RSS / current RSS', value: single.rssMb / current.rssMb, target: '<= 1.00' },
      { label: 'single-file start / current start', value: startBundle / startCurrent, target: '<= 1.50' },
    ],
  }
}
