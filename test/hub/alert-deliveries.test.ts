// The delivery worker with real HTTP endpoints: a channel whose endpoint hangs and one that keeps
// failing delay no other channel; the failing one is marked failing after channel-failing-after
// failures in a row, with its attempts kept; Slack-, Discord- and ntfy-style templates shape the call.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { createConsola } from 'consola'
import { afterAll, describe, expect, it } from 'vitest'
import { createDeliveryWorker } from '../../plugins/hub-alerts/deliveries.ts'
import { createMemoryStore } from '../../plugins/storage-memory/index.ts'
import { eventually } from '../support/fleet.ts'

interface Endpoint {
  url: string
  calls: Array<{ headers: IncomingHttpHeaders; body: string }>
  held: ServerResponse[]
  server: Server
}

const servers: Endpoint[] = []

async function endpoint(answer: 'ok' | 'fail' | 'hang'): Promise<Endpoint> {
  const calls: Endpoint['calls'] = []
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      calls.push({ headers: req.headers, body })
      if (answer === 'hang') held.push(res)
      else res.writeHead(answer === 'ok' ? 200 : 500).end(answer)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const e = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, calls, held, server }
  servers.push(e)
  return e
}

afterAll(async () => {
  for (const e of servers) {
    for (const res of e.held) res.destroy()
    await new Promise<void>((resolve) => e.server.close(() => resolve()))
  }
})

describe('notification delivery', () => {
  it('delivers through a healthy channel while another hangs and a third keeps failing, and marks only the failing one failing', async () => {
    const store = createMemoryStore()
    await store.createAccount({ id: 'acct', name: 'acct', createdAt: new Date().toISOString() })
    const [good, hanging, broken] = await Promise.all([endpoint('ok'), endpoint('hang'), endpoint('fail')])
    const channel = (id: string, url: string) =>
      store.createAlertChannel({ id, accountId: 'acct', name: id, type: 'webhook', config: { url }, status: 'ok', failures: 0, lastAttempts: [], createdAt: new Date().toISOString() })
    await channel('good', good.url)
    await channel('hanging', hanging.url)
    await channel('broken', broken.url)
    const worker = createDeliveryWorker({ store, logger: createConsola({ level: -999 }), pollMs: 50, maxAttempts: 10, backoffMs: 20, failingAfter: 3, timeoutMs: 60_000 })
    worker.start()
    try {
      for (let i = 0; i < 3; i++) await worker.enqueue('acct', ['hanging', 'broken', 'good'], { event: 'firing', accountId: 'acct', alert: { id: `a${i}`, message: `alert ${i}` } as never })
      await eventually('the healthy channel to get all three', () => good.calls.length >= 3 || undefined, 20_000)
      // The hanging endpoint still holds its first call open: it delayed nothing.
      expect(hanging.calls.length).toBeGreaterThan(0)
      expect(hanging.held.every((res) => !res.writableEnded)).toBe(true)
      const marked = await eventually('the broken channel marked failing', async () => {
        const c = await store.getAlertChannel('acct', 'broken')
        return c?.status === 'failing' ? c : undefined
      }, 20_000)
      expect(marked.failures).toBeGreaterThanOrEqual(3)
      expect(marked.lastAttempts[0]).toMatchObject({ ok: false, detail: expect.stringContaining('500') })
      expect(await store.getAlertChannel('acct', 'good')).toMatchObject({ status: 'ok', failures: 0 })
    } finally {
      for (const res of hanging.held) res.destroy()
      await worker.close()
    }
  }, 60_000)

  it('shapes the call for Slack, Discord and ntfy endpoints', async () => {
    const store = createMemoryStore()
    await store.createAccount({ id: 'acct', name: 'acct', createdAt: new Date().toISOString() })
    const hooks = { slack: await endpoint('ok'), discord: await endpoint('ok'), ntfy: await endpoint('ok') }
    for (const [template, e] of Object.entries(hooks)) {
      await store.createAlertChannel({ id: template, accountId: 'acct', name: template, type: 'webhook', config: { url: e.url, template }, status: 'ok', failures: 0, lastAttempts: [], createdAt: new Date().toISOString() })
    }
    const worker = createDeliveryWorker({ store, logger: createConsola({ level: -999 }), pollMs: 50, maxAttempts: 3, backoffMs: 20, failingAfter: 3, timeoutMs: 5000 })
    worker.start()
    try {
      const alert = { id: 'a1', ruleName: 'disk full', kind: 'disk', subject: 'node:n1', severity: 'critical', message: 'web-1 disk at 97%', startedAt: new Date().toISOString() }
      await worker.enqueue('acct', ['slack', 'discord', 'ntfy'], { event: 'firing', accountId: 'acct', alert: alert as never })
      await eventually('all three calls', () => Object.values(hooks).every((e) => e.calls.length === 1) || undefined, 20_000)
      expect(JSON.parse(hooks.slack.calls[0]!.body).text).toContain('web-1 disk at 97%')
      expect(JSON.parse(hooks.discord.calls[0]!.body).content).toContain('web-1 disk at 97%')
      const ntfy = hooks.ntfy.calls[0]!
      expect(ntfy.body).toContain('web-1 disk at 97%')
      expect(ntfy.headers['content-type']).toContain('text/plain')
      expect(ntfy.headers.title).toContain('disk full')
      expect(ntfy.headers.priority).toBe('urgent')
    } finally {
      await worker.close()
    }
  }, 60_000)
})
