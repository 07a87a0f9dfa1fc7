// The dashboard's budget in Chromium against a real hub: the fleet page's first load transfers at most
// 300 KB and its rows are interactive, and 1,000 real agents (REST protocol) render and update live.
// Times (first row drawn, frame times while 1,000 nodes report) are printed, not asserted: on a shared
// 2-core machine they measure whatever else runs, so speed is judged from bench/RESULTS.md, not here.
import { randomUUID } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { launchChromium, openPage, screenshot } from './support/browser.ts'
import { startHub, type TestHub } from './support/hub.ts'
import { agentInfo } from '../support/agent-fixtures.ts'

requireTool('chromium')

let hub: TestHub
let browser: Browser
let key = ''
let token = ''
const agents: string[] = []

async function agentCall(path: string, agentId: string, body: unknown): Promise<void> {
  const response = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'x-agent-id': agentId, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`)
  await response.arrayBuffer()
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}

function metrics(agentId: string, round: number, i: number) {
  return {
    agentId,
    timestamp: new Date().toISOString(),
    cpuPercent: (i * 7 + round * 13) % 100,
    cpuPerCore: [],
    memoryUsedMB: 1000 + ((i * 31 + round * 17) % 7000),
    memoryTotalMB: 8192,
    diskUsedGB: 40 + (i % 50),
    diskTotalGB: 256,
    disks: [],
    containersRunning: (i + round) % 9,
    containers: [],
    environmentCount: 0,
    uptimeSeconds: 1000 + round,
  }
}

/** Signs the browser in by storing the session the login page would store. */
async function signedInPage(options: { width?: number } = {}) {
  const tab = await openPage(browser, options)
  await tab.context.addInitScript((t: string) => sessionStorage.setItem('thresh.session', JSON.stringify({ accessToken: t, userName: 'admin' })), token)
  return tab
}

beforeAll(async () => {
  // One key registers the whole simulated fleet at once: above the default burst of new nodes per key.
  hub = await startHub({ env: { THRESH_REGISTRATION_BURST: '5000' } })
  token = await hub.token()
  key = (await hub.api<{ key: string }>('POST', '/api/keys', { type: 'agent', name: 'budget agents' })).key
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('dashboard budget', () => {
  it('loads the fleet page in at most 300 KB and its rows are interactive', async () => {
    const first = randomUUID()
    agents.push(first)
    await agentCall('/api/agent/register', first, agentInfo(first, { hostname: 'budget-node-0000', osVersion: 'test', ramTotalGb: 8, diskTotalGb: 256 }))
    await agentCall('/api/agent/metrics', first, metrics(first, 0, 0))

    // A browser that has just launched is slow for its first page; a user's browser is already running.
    // Warm it on another context, which shares no cache with the measured one.
    const warm = await signedInPage()
    await warm.page.goto(hub.url)
    await warm.page.locator('tbody tr').first().waitFor()
    await warm.context.close()

    const tab = await signedInPage()
    let transferred = 0
    const sizes: Promise<void>[] = []
    tab.page.on('requestfinished', (request) => {
      sizes.push(request.sizes().then((s) => void (transferred += s.responseBodySize + s.responseHeadersSize)))
    })
    await tab.page.goto(hub.url)
    await tab.page.locator('tr:has(a:text-is("budget-node-0000"))').waitFor()
    const readyAt = await tab.page.evaluate(() => performance.now())
    await tab.page.waitForLoadState('networkidle')
    await Promise.all(sizes)
    console.log(`fleet first load: ${(transferred / 1024).toFixed(1)} KB transferred, node row drawn at ${readyAt.toFixed(0)} ms`)
    expect(transferred).toBeLessThanOrEqual(300 * 1024)
    // The row is interactive: its link opens the node.
    await tab.page.locator('tr:has(a:text-is("budget-node-0000"))').getByRole('link', { name: 'budget-node-0000' }).click()
    await expect.poll(() => tab.page.getByRole('heading', { level: 1, name: 'budget-node-0000' }).isVisible()).toBe(true)
    expect(tab.errors).toEqual([])
    await tab.context.close()
  })

  it('renders 1,000 nodes and keeps them up to date while every node reports live', async () => {
    while (agents.length < 1000) agents.push(randomUUID())
    await inBatches(agents.map((id, i) => ({ id, i })), 50, ({ id, i }) =>
      agentCall('/api/agent/register', id, agentInfo(id, { hostname: `budget-node-${String(i).padStart(4, '0')}`, osVersion: 'test', ramTotalGb: 8, diskTotalGb: 256 })),
    )
    await inBatches(agents.map((id, i) => ({ id, i })), 50, ({ id, i }) => agentCall('/api/agent/metrics', id, metrics(id, 0, i)))

    const tab = await signedInPage()
    const { page } = tab
    await page.goto(hub.url)
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 20_000 }).toBe(1000)
    await expect.poll(() => page.locator('.live').textContent(), { timeout: 10_000 }).toBe('live')
    const watched = page.locator('tr:has(a:text-is("budget-node-0005")) [data-label=CPU]')
    const before = await watched.innerText()

    await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __long: number[] }
      w.__frames = []
      w.__long = []
      let last = performance.now()
      const tick = (now: number) => {
        w.__frames.push(now - last)
        last = now
        requestAnimationFrame(tick)
      }
      requestAnimationFrame(tick)
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__long.push(e.duration))).observe({ type: 'longtask', buffered: false })
    })
    // Three rounds in which every one of the 1,000 nodes reports.
    for (let round = 1; round <= 3; round++) {
      await inBatches(agents.map((id, i) => ({ id, i })), 50, ({ id, i }) => agentCall('/api/agent/metrics', id, metrics(id, round, i)))
    }
    await expect.poll(() => watched.innerText(), { timeout: 10_000 }).not.toBe(before)
    await page.waitForTimeout(500)
    // Rows far below are brought up to date when they scroll into view: round 3 gave node 500 39% CPU.
    const far = page.locator('tr:has(a:text-is("budget-node-0500"))')
    await far.scrollIntoViewIfNeeded()
    await expect.poll(() => far.locator('[data-label=CPU]').innerText(), { timeout: 10_000 }).toBe('39%')
    const { frames, long } = await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __long: number[] }
      return { frames: w.__frames, long: w.__long }
    })
    const sorted = frames.slice(1).sort((a, b) => a - b)
    const p95 = sorted[Math.floor(sorted.length * 0.95)]!
    const worst = sorted[sorted.length - 1]!
    console.log(`1,000 nodes live: ${sorted.length} frames, p95 ${p95.toFixed(1)} ms, worst ${worst.toFixed(1)} ms, long tasks ${long.length} (longest ${Math.max(0, ...long).toFixed(0)} ms)`)
    await screenshot(page, '15-fleet-1000-nodes', false)
    expect(sorted.length).toBeGreaterThan(0) // the page kept drawing frames throughout
    expect(tab.errors).toEqual([])
    await tab.context.close()
  }, 120_000)
})
