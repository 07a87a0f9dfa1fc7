// A route served through thresh's plugin core vs the same route on bare hono, in the same run. The
// load generator runs in a process of its own (in-process it took the CPU both servers needed and
// pulled the ratio toward 1).
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { loadInChild as load } from './load.mjs'

export const name = 'core route vs bare hono'

export async function run() {
  const bare = new Hono()
  bare.get('/hello/:who', (c) => c.json({ message: `hello, ${c.req.param('who')}`, runtime: 'node' }))
  const bareServer = await new Promise((resolve) => {
    const s = serve({ fetch: bare.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s))
  })
  const barePort = bareServer.address().port

  const { startRole } = await import('../dist/roles/start-role.js')
  const plugin = {
    name: 'bench-hello',
    setup(ctx) {
      ctx.server.app.get('/hello/:who', (c) => c.json({ message: `hello, ${c.req.param('who')}`, runtime: ctx.runtime.name }))
    },
  }
  const role = await startRole({
    role: 'hub',
    flags: { port: 0, host: '127.0.0.1', tls: false, logLevel: 'error' },
    env: { THRESH_HOME: `/tmp/thresh-bench-${process.pid}`, THRESH_STORAGE: 'memory' },
    plugins: [plugin],
  })

  // Warm both, then alternate rounds so drift on a shared machine hits both sides alike.
  await load(`http://127.0.0.1:${barePort}/hello/x`, { durationMs: 500 })
  await load(`${role.url}/hello/x`, { durationMs: 500 })
  const rounds = { bare: [], thresh: [] }
  for (let i = 0; i < 3; i++) {
    rounds.bare.push(await load(`http://127.0.0.1:${barePort}/hello/x`))
    rounds.thresh.push(await load(`${role.url}/hello/x`))
  }
  await role.stop()
  bareServer.close()
  const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length
  const bareRps = sum(rounds.bare, 'rps')
  const threshRps = sum(rounds.thresh, 'rps')
  return {
    rows: [
      ['bare hono rps', bareRps.toFixed(0)],
      ['thresh core rps', threshRps.toFixed(0)],
      ['thresh p50 / p99 ms', `${sum(rounds.thresh, 'p50').toFixed(2)} / ${sum(rounds.thresh, 'p99').toFixed(2)}`],
      ['bare p50 / p99 ms', `${sum(rounds.bare, 'p50').toFixed(2)} / ${sum(rounds.bare, 'p99').toFixed(2)}`],
    ],
    ratio: { label: 'thresh / bare throughput', value: threshRps / bareRps, target: '>= 0.9' },
  }
}
