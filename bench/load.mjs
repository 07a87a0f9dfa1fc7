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
