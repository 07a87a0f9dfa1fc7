// The hub's /metrics counts every account's nodes, stacks and commands: an unauthenticated scraper
// sees only the process's own gauges, and the fleet-wide ones need `Authorization: Bearer <metricsToken>`.
import { afterAll, describe, expect, it } from 'vitest'
import { startHub, type TestHub } from './support.ts'

const hubs: TestHub[] = []
afterAll(async () => {
  await Promise.all(hubs.map((h) => h.stop()))
})

const scrape = async (hub: TestHub, authorization?: string) => {
  const response = await fetch(`${hub.url}/metrics`, authorization ? { headers: { authorization } } : {})
  return { status: response.status, text: await response.text() }
}

describe("the hub's /metrics", () => {
  it('shows no fleet-wide counts to a scraper without the metrics token', async () => {
    const hub = await startHub({ storage: 'memory' })
    hubs.push(hub)
    const open = await scrape(hub)
    expect(open.status).toBe(200)
    expect(open.text).toMatch(/^thresh_up 1$/m)
    expect(open.text).not.toMatch(/^hub_/m)
    // No token configured: a bearer gets no more than anyone else.
    expect((await scrape(hub, 'Bearer guess')).text).not.toMatch(/^hub_/m)
  }, 60_000)

  it('shows the fleet-wide gauges only with Authorization: Bearer <metricsToken>', async () => {
    const token = 'a-long-scrape-token-0123456789'
    const hub = await startHub({ storage: 'memory', config: { metricsToken: token } })
    hubs.push(hub)
    const anonymous = await scrape(hub)
    expect(anonymous.status).toBe(200)
    expect(anonymous.text).toMatch(/^thresh_up 1$/m)
    expect(anonymous.text).not.toMatch(/^hub_nodes_online/m)

    const scraper = await scrape(hub, `Bearer ${token}`)
    expect(scraper.status).toBe(200)
    for (const gauge of ['hub_nodes_online', 'hub_nodes_total', 'hub_stacks_running', 'hub_commands_in_flight']) expect(scraper.text).toMatch(new RegExp(`^${gauge} \\d`, 'm'))

    const wrong = await scrape(hub, 'Bearer not-the-token')
    expect(wrong.status).toBe(401)
    expect(JSON.parse(wrong.text)).toEqual({ error: 'unauthorized', message: 'The metrics token is wrong: send Authorization: Bearer <metricsToken>.' })
    expect(hub.proc.output()).not.toContain(token)
  }, 60_000)
})
