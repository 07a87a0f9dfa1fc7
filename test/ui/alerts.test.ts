// Events and alerts in the dashboard, in Chromium against a real hub with a real agent (official
// SignalR client, stacks on the real Docker engine): the fleet overview (totals, busiest nodes, active
// alerts), the live events timeline, the alert management page, and the node charts — hover tooltips
// with exact values, whole-number axes for counts, deploy markers, and labels of at least 10 px on a phone.
import type { Browser, Page } from 'playwright-core'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { requireTool } from '../support/require.ts'
import { startTestAgent, type TestAgent } from './support/agent.ts'
import { launchChromium, openPage, screenshot, type WatchedPage } from './support/browser.ts'
import { startHub, type TestHub } from './support/hub.ts'

requireTool('chromium')
requireTool('docker')

let hub: TestHub
let agent: TestAgent
let docker: Docker
let browser: Browser
let tab: WatchedPage
let page: Page
let reporter: ReturnType<typeof setInterval> | undefined
const stackName = uniqueName('uialerts')
const nodeName = uniqueName('ui-alerts-node')
const SECRET = 'ui-webhook-secret-42'

beforeAll(async () => {
  docker = await connectDocker()
  hub = await startHub({ env: { THRESH_ALERT_INTERVAL: '300ms' } })
  const key = await hub.api<{ key: string }>('POST', '/api/keys', { type: 'agent', name: 'ui alerts agent' })
  agent = await startTestAgent({ url: hub.url, apiKey: key.key, hostname: nodeName, hostFigures: true })
  reporter = setInterval(() => void agent.report().catch(() => {}), 500)
  await hub.api('POST', '/api/alerts/rules', { name: 'busy node', kind: 'cpu', scope: 'node', target: nodeName, threshold: 1, for: '1s' })
  await hub.api('POST', '/api/stacks/deploy', { name: stackName, targetNode: nodeName, services: { web: { image: 'thresh-test/busybox:1', env: { PORT: '8080' } } } })
  browser = await launchChromium()
  tab = await openPage(browser)
  page = tab.page
  page.setDefaultTimeout(15_000)
}, 120_000)

afterAll(async () => {
  if (reporter) clearInterval(reporter)
  await browser?.close()
  await agent?.close()
  if (docker) {
    const filters = JSON.stringify({ label: [`thresh.stack=${stackName}`] })
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {})
  }
  await hub?.stop()
}, 60_000)

async function signIn(p: Page) {
  await p.goto(hub.url)
  await p.getByLabel('Username').fill('admin')
  await p.getByLabel('Password').fill(hub.password)
  await p.getByLabel('Password').press('Enter')
  await expect.poll(() => p.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 15_000 }).toBe(true)
}

describe('events and alerts in the dashboard', () => {
  it('shows a fleet overview with totals, the busiest nodes and the alerts firing now', async () => {
    await signIn(page)
    const overview = page.getByLabel('Fleet overview')
    await expect.poll(() => overview.innerText(), { timeout: 20_000 }).toContain(nodeName)
    await expect.poll(() => overview.locator('h2:has-text("Active alerts") .badge').innerText(), { timeout: 20_000 }).toBe('1')
    expect(await overview.innerText()).toContain('busy node')
    await screenshot(page, 'alerts-01-fleet-overview')
    expect(tab.errors).toEqual([])
  })

  it('lists the fleet events live, newest first, filtered by stack', async () => {
    await page.getByRole('link', { name: 'Events', exact: true }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Events' }).isVisible()).toBe(true)
    const timeline = page.getByRole('list', { name: 'Fleet events, newest first' })
    await expect.poll(() => timeline.innerText(), { timeout: 20_000 }).toContain(`${nodeName} is online`)
    await expect.poll(() => timeline.innerText(), { timeout: 60_000 }).toContain(`Stack ${stackName} deployed`)
    await page.getByLabel('Stack').fill(stackName)
    await page.getByLabel('Stack').press('Enter')
    await expect.poll(() => timeline.locator('li').count()).toBeGreaterThan(0)
    for (const item of await timeline.locator('li').allInnerTexts()) expect(item).toContain(stackName)
    await screenshot(page, 'alerts-02-events')
  }, 90_000)

  it('shows a new event in the open timeline as it is recorded, pushed over the live channel without a reload or a poll', async () => {
    await page.getByRole('link', { name: 'Alerts', exact: true }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Firing now' }).isVisible()).toBe(true)
    await page.getByRole('link', { name: 'Events', exact: true }).click()
    const timeline = page.getByRole('list', { name: 'Fleet events, newest first' })
    await expect.poll(() => timeline.innerText(), { timeout: 20_000 }).toContain(`${nodeName} is online`)
    const fetched: string[] = []
    const watch = (request: { url(): string }) => {
      if (request.url().includes('/api/events')) fetched.push(request.url())
    }
    page.on('request', watch)
    try {
      const key = await hub.api<{ id: string }>('POST', '/api/keys', { type: 'agent', name: 'ui live event' })
      await hub.api('DELETE', `/api/keys/${key.id}`)
      await expect.poll(() => timeline.innerText(), { timeout: 20_000 }).toContain(`Key ${key.id} was revoked`)
      expect(await timeline.locator('li').first().innerText()).toContain(`Key ${key.id} was revoked`)
      expect(fetched).toEqual([])
    } finally {
      page.off('request', watch)
    }
    expect(tab.errors).toEqual([])
  }, 60_000)

  it('manages alerts: the firing alert, a new webhook channel whose secret is never shown, and a silence', async () => {
    await page.getByRole('link', { name: 'Alerts', exact: true }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Firing now' }).isVisible()).toBe(true)
    expect(await page.getByRole('table', { name: 'Firing alerts' }).innerText()).toContain('busy node')
    await page.getByLabel('Name', { exact: true }).fill('ui-hook')
    await page.getByLabel('URL').fill('http://127.0.0.1:9/hook')
    await page.getByLabel('Secret').fill(SECRET)
    await page.getByRole('button', { name: 'Add channel' }).click()
    const channels = page.getByRole('table', { name: 'Notification channels' })
    await expect.poll(() => channels.innerText()).toContain('ui-hook')
    expect(await page.content()).not.toContain(SECRET)
    // "Send test" on a channel nobody listens on: the attempt shows as failed on the channel.
    await channels.locator('tr', { hasText: 'ui-hook' }).getByRole('button', { name: 'Send test' }).click()
    await expect.poll(() => channels.locator('tr', { hasText: 'ui-hook' }).innerText(), { timeout: 20_000 }).toContain('✗')
    await page.getByLabel('Rule', { exact: true }).fill('busy node')
    await page.getByRole('button', { name: 'Silence' }).click()
    await expect.poll(() => page.getByRole('table', { name: 'Silences' }).innerText()).toContain('busy node')
    await screenshot(page, 'alerts-03-manage')
    expect(tab.errors).toEqual([])
  })

  it('draws node charts on a phone with labels of at least 10 px, a deploy marker, whole-number counts and a tooltip with exact values', async () => {
    const phone = await openPage(browser, { width: 390, height: 844 })
    try {
      await signIn(phone.page)
      await phone.page.getByRole('link', { name: nodeName }).first().click()
      const cpu = phone.page.locator('figure:has(h3:has-text("CPU %"))')
      await expect.poll(() => cpu.locator('.marker.stack_deployed').count(), { timeout: 20_000 }).toBeGreaterThan(0)
      // The host figures' history, charted like the rest (their labels are measured below too).
      for (const title of ['Load average', 'Network KB/s', 'Disk I/O KB/s', 'Swap %', 'Temperature °C']) {
        await expect.poll(() => phone.page.locator(`figure:has(h3:has-text("${title}")) svg.chart`).count(), { timeout: 20_000 }).toBe(1)
      }
      const smallest = await phone.page.evaluate(() => {
        let min = Infinity
        for (const t of document.querySelectorAll('svg.chart text.axis')) min = Math.min(min, t.getBoundingClientRect().height)
        return min
      })
      expect(smallest).toBeGreaterThanOrEqual(10)
      const counts = phone.page.locator('figure:has(h3:has-text("Containers running")) text.axis.value')
      for (const label of await counts.allTextContents()) expect(label).toMatch(/^\d+$/)

      await cpu.locator('svg').scrollIntoViewIfNeeded()
      const box = (await cpu.locator('svg').boundingBox())!
      await phone.page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2)
      const tip = cpu.locator('.chart-tip')
      await expect.poll(() => tip.isVisible()).toBe(true)
      expect(await tip.innerText()).toMatch(/CPU: \d+\.\d\d%/)
      expect(await tip.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/)
      await screenshot(phone.page, 'alerts-04-node-phone')
      expect(phone.errors).toEqual([])
    } finally {
      await phone.context.close()
    }
  }, 90_000)
})
