// Logs through the fleet: lines per second a viewer reads from the hub (agent -> hub -> NDJSON) against
// reading the same container's logs straight from Docker on the node (dockerode, the same API the
// agent uses), in the same run; and the hub's memory with 50 followers of a chatty container, against
// its bound (a flow-control window of buffered output per stream). Needs Docker and `npm run build`.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { root, sleep, startHub } from './fleet-support.mjs'

export const name = 'logs through the hub vs docker logs'

const LINES = 200_000
const FOLLOWERS = 50

async function countNdjson(url, token, stopAfterMs) {
  const controller = new AbortController()
  const timer = stopAfterMs ? setTimeout(() => controller.abort(), stopAfterMs) : undefined
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  let lines = 0
  try {
    for await (const chunk of response.body) for (const byte of chunk) if (byte === 10) lines++
  } catch {
    // aborted
  }
  clearTimeout(timer)
  return lines
}

export async function run() {
  execFileSync('sh', ['scripts/docker-start.sh'], { stdio: 'inherit' })
  execFileSync('sh', ['scripts/docker-test-images.sh'], { stdio: 'inherit' })
  const docker = new Docker()
  const tag = `bench-logs-${process.pid}`
  const make = async (script) => {
    const c = await docker.createContainer({ name: `${tag}-${Math.random().toString(36).slice(2, 6)}`, Image: 'thresh-test/busybox:1', Entrypoint: ['sh', '-c', script], HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '50m', 'max-file': '1' } } } })
    await c.start()
    return c
  }
  const hub = await startHub()
  const home = mkdtempSync(join(tmpdir(), 'thresh-bench-agent-'))
  const config = join(home, 'agent.json')
  writeFileSync(config, JSON.stringify({ midtierUrl: hub.url, apiKey: hub.liveKey, nodeName: tag, transport: 'signalr', metricsInterval: '5s', logLevel: 'warn' }))
  const agent = spawn(process.execPath, [join(root, 'bin/thresh.mjs'), 'run', '--role', 'agent', '--port', '0', '--config', config], { env: { ...process.env, THRESH_HOME: home }, stdio: 'ignore' })
  const containers = []
  try {
    while ((await hub.online()) < 1) await sleep(100)
    const token = (await (await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-password-1234' }) })).json()).accessToken

    // A container that wrote LINES numbered lines and now idles.
    const numbered = await make(`seq 1 ${LINES}; sleep 3600`)
    containers.push(numbered)
    for (;;) {
      const tail = (await numbered.logs({ stdout: true, tail: 1 })).toString()
      if (tail.includes(String(LINES))) break
      await sleep(200)
    }
    const direct = async () => {
      const started = performance.now()
      const body = await numbered.logs({ stdout: true, stderr: true, timestamps: true })
      let lines = 0
      for (const byte of body) if (byte === 10) lines++
      return { lines, ms: performance.now() - started }
    }
    const viaHub = async () => {
      const started = performance.now()
      const lines = await countNdjson(`${hub.url}/api/nodes/${tag}/containers/${numbered.id}/logs`, token)
      return { lines: lines - 1, ms: performance.now() - started }
    }
    const rounds = { direct: [], hub: [] }
    for (let i = 0; i < 3; i++) {
      rounds.direct.push(await direct())
      rounds.hub.push(await viaHub())
    }
    const rate = (xs) => Math.max(...xs.map((r) => (r.lines / r.ms) * 1000))
    const directRate = rate(rounds.direct)
    const hubRate = rate(rounds.hub)

    // 50 followers of a chatty container: 25 read as fast as they can, 25 never read (stalled).
    const chatty = await make('while true; do seq 1 1000; done')
    containers.push(chatty)
    global.gc?.()
    await sleep(500)
    const before = process.memoryUsage().rss
    const url = `${hub.url}/api/nodes/${tag}/containers/${chatty.id}/logs?follow=true&tail=0`
    const readers = Array.from({ length: FOLLOWERS / 2 }, () => countNdjson(url, token, 15_000))
    const stalled = []
    for (let i = 0; i < FOLLOWERS / 2; i++) stalled.push(await fetch(url, { headers: { authorization: `Bearer ${token}` } }))
    let peak = 0
    let buffered = 0
    for (let i = 0; i < 25; i++) {
      await sleep(500)
      peak = Math.max(peak, process.memoryUsage().rss)
      const text = await (await fetch(`${hub.url}/metrics`)).text()
      buffered = Math.max(buffered, Number(/^hub_stream_buffered_bytes (\S+)/m.exec(text)?.[1] ?? 0))
    }
    const read = await Promise.all(readers)
    for (const response of stalled) await response.body.cancel().catch(() => {})
    // A sender never has more than a window in flight, so that is what the hub can hold per stream.
    const { STREAM_WINDOW_BYTES } = await import('../dist/lib/streams/index.js')
    const bound = FOLLOWERS * STREAM_WINDOW_BYTES
    return {
      rows: [
        ['lines in the container', LINES.toLocaleString('en')],
        ['docker logs direct, lines/s', Math.round(directRate).toLocaleString('en')],
        ['through the hub (NDJSON), lines/s', Math.round(hubRate).toLocaleString('en')],
        [`hub RSS before ${FOLLOWERS} followers`, `${(before / 2 ** 20).toFixed(0)} MiB`],
        [`hub RSS peak with them`, `${(peak / 2 ** 20).toFixed(0)} MiB (+${((peak - before) / 2 ** 20).toFixed(0)} MiB)`],
        ['hub stream buffers, peak', `${(buffered / 2 ** 20).toFixed(1)} MiB (bound ${bound / 2 ** 20} MiB)`],
        ['lines read by the 25 live followers', read.reduce((a, b) => a + b, 0).toLocaleString('en')],
      ],
      ratio: [
        { label: 'hub / direct lines per second', value: hubRate / directRate, target: '>= 0.5' },
        { label: `RSS growth / bound (${bound / 2 ** 20} MiB)`, value: (peak - before) / bound, target: '<= 1' },
      ],
    }
  } finally {
    agent.kill('SIGKILL')
    await Promise.all(containers.map((c) => c.remove({ force: true }).catch(() => {})))
    await hub.stop()
  }
}
