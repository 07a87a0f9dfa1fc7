// Live views across hubs: two hub processes on one PostgreSQL. A dashboard (real Chromium) and
// `thresh events -f` on hub B see, without a reload, what happens through hub A: a node arriving,
// its metrics, a stack deployed to it, the node going offline.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnThresh, type ThreshProcess } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { launchChromium, openPage, screenshot, type WatchedPage } from '../ui/support/browser.ts'
import { ADMIN_PASSWORD, connectAgent, dropSchema, metricsSample, newSchema, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')
requireTool('chromium')

// Far below the dashboard's own 60 s safety refresh, so only a pushed update can pass in time,
// and far above the second it takes, for a loaded machine.
const PUSHED_WITHIN = 20_000

const schema = newSchema()
let hubA: TestHub
let hubB: TestHub
let browser: Browser
let tab: WatchedPage
let page: Page
let follower: ThreshProcess | undefined
let agent: TestAgent | undefined
const hostname = `live-${Date.now().toString(36)}`

beforeAll(async () => {
  hubA = await startHub({ storage: 'postgres', schema, config: { offlineAfter: '10m' } })
  hubB = await startHub({ storage: 'postgres', schema, config: { offlineAfter: '10m' } })
  browser = await launchChromium()
  tab = await openPage(browser)
  page = tab.page
  page.setDefaultTimeout(15_000)
}, 120_000)

afterAll(async () => {
  await follower?.stop()
  await agent?.close().catch(() => {})
  await browser?.close()
  await hubA?.stop()
  await hubB?.stop()
  await dropSchema(schema)
}, 60_000)

const row = (name: string) => page.locator(`tr:has(a:text-is("${name}"))`)

describe('live views across two hubs on one database', () => {
  it('a dashboard and `thresh events -f` on hub B see a node, its metrics, a stack and the node going offline, all through hub A', async () => {
    await page.goto(hubB.url)
    await page.getByLabel('Username').fill('admin')
    await page.getByLabel('Password').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 15_000 }).toBe(true)

    const tokenB = await hubB.login()
    follower = spawnThresh('node', ['events', '-f', '--hub', hubB.url], { THRESH_CLI_TOKEN: tokenB, THRESH_HOME: hubB.home })

    // The node connects to hub A only.
    const tokenA = await hubA.login()
    const key = (await hubA.request('POST', '/api/keys', { token: tokenA, body: { type: 'agent', name: 'live' } })).body.key as string
    agent = await connectAgent(hubA, key, hostname, async (command) => {
      const args = command.arguments as Record<string, any>
      return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: [{ name: 'web', status: 'running' }] } }) }
    })
    await expect.poll(() => row(hostname).count(), { timeout: PUSHED_WITHIN }).toBe(1)
    await expect.poll(() => row(hostname).locator('[data-label=Status]').innerText(), { timeout: PUSHED_WITHIN }).toMatch(/Online/)

    // Its metrics, sent to hub A, move hub B's CPU column. Sent each poll, as an agent reports every
    // interval: hub A forwards metrics once it has heard that hub B has a dashboard of the account open
    // (said within a second of opening it), and a report sent before that is not forwarded.
    await expect
      .poll(async () => {
        await agent!.client.sendMetrics(metricsSample(agent!.agentId, 73))
        return row(hostname).locator('[data-label=CPU]').innerText()
      }, { timeout: PUSHED_WITHIN, interval: 500 })
      .toContain('73%')
    await screenshot(page, 'live-across-hubs-fleet')

    // `thresh events -f` on hub B prints the registration that happened on hub A.
    await expect.poll(() => follower!.output(), { timeout: PUSHED_WITHIN }).toContain(hostname)

    // A stack deployed through hub A (which holds the node) appears on hub B's open stacks page.
    await page.goto(`${hubB.url}/#/stacks`)
    await expect.poll(() => page.getByRole('heading', { name: 'Stacks', exact: true }).isVisible()).toBe(true)
    const deployed = await hubA.request('POST', '/api/stacks/deploy?wait=true', { token: tokenA, body: { name: 'live-stack', targetNode: hostname, services: { web: { image: 'nginx' } } } })
    expect(deployed.status).toBe(200)
    await expect.poll(() => page.locator('tr[data-stack="live-stack"]').count(), { timeout: PUSHED_WITHIN }).toBe(1)

    // The node leaves hub A: hub B's fleet shows it offline.
    await page.goto(`${hubB.url}/#/`)
    await expect.poll(() => row(hostname).locator('[data-label=Status]').innerText(), { timeout: PUSHED_WITHIN }).toMatch(/Online/)
    await agent.close()
    agent = undefined
    await expect.poll(() => row(hostname).locator('[data-label=Status]').innerText(), { timeout: PUSHED_WITHIN }).toMatch(/Offline/)
    expect(tab.errors).toEqual([])
  }, 180_000)
})
