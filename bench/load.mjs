// A small closed-loop HTTP load generator for benchmarks: N keep-alive connections for a fixed time.
import http from 'node:http'

export async function load(url, { connections = 32, durationMs = 3000, headers = {} } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const latencies = []
  const deadline = Date.now() + durationMs
  const one = () =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint()
      http
        .get(url, { agent, headers }, (res) => {
          res.resume()
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
            resolve()
          })
        })
        .on('error', reject)
    })
  await Promise.all(Array.from({ length: connections }, async () => { while (Date.now() < deadline) await one() }))
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
  return { requests: latencies.length, rps: latencies.length / (durationMs / 1000), p50: at(0.5), p99: at(0.99) }
}

/**
 * `load` in a process of its own, so the generator does not share the event loop (and a core's worth
 * of CPU) with the server it measures; resolves with the same figures.
 */
export async function loadInChild(url, options = {}) {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, url, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`the load generator exited with ${code}`)
  return JSON.parse(out)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await load(process.argv[2], JSON.parse(process.argv[3] ?? '{}'))))
}
