// The node page's Docker section in Debian's Chromium against a real hub process and an agent session
// running the real agent tools on the real Docker engine: containers made with plain Docker are shown
// grouped with state, image, ports and usage and can be stopped from the page; a stack's container
// has its actions disabled with the reason; a volume is removed; a viewer sees no actions.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTools } from '../../plugins/agent-commands/tools.ts'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, uniqueName } from '../support/docker.ts'
import { tempHome } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { connectAgent, metricsSample, type TestAgent } from '../hub/support.ts'
import type { MetricsData } from '../../lib/agent-session/protocol.ts'
import { launchChromium, openPage, screenshot, type WatchedPage } from './support/browser.ts'
import { startHub, type TestHub } from './support/hub.ts'

requireTool('chromium')
requireTool('docker')

let hub: TestHub
let agent: TestAgent
let docker: Docker
let runtime: ReturnType<typeof createDockerRuntime>
let browser: Browser
let tab: WatchedPage
let page: Page
let account: string
const project = uniqueName('h13buiproj')
const web = uniqueName('h13b-ui-web')
const volume = uniqueName('h13b-ui-vol')
const stack = uniqueName('h13buistack')
const env = uniqueName('h13buienv')
let port = 0

beforeAll(async () => {
  docker = await connectDocker()
  runtime = createDockerRuntime({ docker, proxy: false })
  hub = await startHub()
  const key = (await hub.api<{ key: string }>('POST', '/api/keys', { type: 'agent', name: 'ui docker node' })).key
  account = /^thresh_live_([a-z0-9]+)_/.exec(key)![1]!
  let tools: ReturnType<typeof createTools>
  agent = await connectAgent(hub, key, uniqueName('h13b-ui-node'), (command) => tools(command))
  const dataDir = tempHome('thresh-h13b-ui-agent-')
  mkdirSync(join(dataDir, 'blueprints'))
  writeFileSync(join(dataDir, 'blueprints', 'h13b-ui-web.json'), JSON.stringify({ name: 'h13b-ui-web', description: 'test', services: [{ name: 'web', image: 'thresh-test/busybox:1' }] }))
  tools = createTools({ runtime: () => runtime, account, dataDir, agentId: agent.agentId, statusUpdate: () => {}, metrics: async () => ({}), versions: async () => ({}) })
  port = await freePort()
  const c = await docker.createContainer({
    name: web,
    Image: 'thresh-test/busybox:1',
    Labels: { 'com.docker.compose.project': project },
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
  })
  await c.start()
  await docker.createVolume({ Name: volume })
  await hub.api('POST', `/api/nodes/${agent.agentId}/up`, { blueprint: 'h13b-ui-web', name: env })
  await hub.api('POST', '/api/stacks/deploy?wait=true', { name: stack, targetNode: agent.hostname, services: { app: { image: 'thresh-test/busybox:1' } } })
  browser = await launchChromium()
  tab = await openPage(browser)
  page = tab.page
  page.setDefaultTimeout(20_000)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await docker?.getContainer(web).remove({ force: true }).catch(() => {})
  await docker?.getVolume(volume).remove().catch(() => {})
  await runtime?.destroy(stack, { account }).catch(() => {})
  await runtime?.destroy(env, { account }).catch(() => {})
  await agent?.close()
  await hub?.stop()
}, 60_000)

async function signIn(p: Page, username: string, password: string): Promise<void> {
  await p.goto(hub.url)
  await p.getByLabel('Username').fill(username)
  await p.getByLabel('Password').fill(password)
  await p.getByLabel('Password').press('Enter')
  await expect.poll(() => p.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 30_000 }).toBe(true)
}

describe('the node page shows every container on the engine', () => {
  it('groups containers by Compose project and stack with state, image, ports and usage, and stops one', async () => {
    await signIn(page, 'admin', hub.password)
    await page.goto(`${hub.url}/#/nodes/${agent.agentId}`)
    const row = page.locator(`[data-group="compose:${project}"] tr[data-container="${web}"]`)
    await row.waitFor()
    expect(await page.locator(`[data-group="compose:${project}"] h3`).innerText()).toBe(`Compose project ${project}`)
    expect(await row.locator('[data-label=State]').innerText()).toMatch(/running/i)
    expect(await row.locator('[data-label=Image]').innerText()).toBe('thresh-test/busybox:1')
    expect(await row.locator('[data-label=Ports]').innerText()).toBe(`127.0.0.1:${port}->8080/tcp`)
    expect(await row.locator('[data-label=Memory]').innerText()).toMatch(/\d+ MB/)
    expect(await row.locator('[data-label=CPU]').innerText()).toMatch(/%$/)

    const stackRow = page.locator(`[data-group="stack:${stack}"] tr`).filter({ hasText: `${stack}_app` })
    await stackRow.waitFor()
    const stop = stackRow.getByRole('button', { name: /^Stop / })
    expect(await stop.isDisabled()).toBe(true)
    expect(await stop.getAttribute('title')).toContain(`Part of stack ${stack}`)
    expect(await stackRow.innerText()).toContain(`change it through the stack`)
    await screenshot(page, 'node-docker-containers')

    await row.getByRole('button', { name: `Stop ${web}` }).click()
    await expect.poll(() => page.locator(`tr[data-container="${web}"] [data-label=State]`).innerText(), { timeout: 30_000 }).toMatch(/exited/i)
    expect((await docker.getContainer(web).inspect()).State.Running).toBe(false)
    expect(tab.errors).toEqual([])
  }, 120_000)

  it("charts a container's CPU and memory over the last hour from the history the hub keeps", async () => {
    const sample = { ...metricsSample(agent.agentId), containers: [{ name: web, cpuPercent: 12.5, memoryMB: 42 }] } as unknown as MetricsData
    await agent.client.sendMetrics(sample)
    await expect
      .poll(async () => (await hub.api<any>('GET', `/api/nodes/${agent.agentId}/containers/metrics?container=${web}`)).containers[0]?.points.length ?? 0, { timeout: 15_000 })
      .toBe(1)
    const own = await openPage(browser)
    const p = own.page
    p.setDefaultTimeout(20_000)
    await signIn(p, 'admin', hub.password)
    await p.goto(`${hub.url}/#/nodes/${agent.agentId}`)
    await p.locator(`tr[data-container="${web}"]`).getByRole('button', { name: `Usage of ${web}` }).click()
    const dialog = p.getByRole('dialog', { name: `Usage: ${web}` })
    await dialog.locator('svg.chart').nth(1).waitFor()
    const titles = await dialog.locator('svg.chart > title').allTextContents()
    expect(titles[0]).toMatch(/CPU percent of one core: 1 samples; latest CPU 12\.5 ?%/)
    expect(titles[1]).toMatch(/memory in MB: 1 samples; latest Memory 42 ?MB/)
    await screenshot(p, 'node-docker-container-usage')
    await dialog.getByRole('button', { name: 'Close' }).click()
    expect(own.errors).toEqual([])
    await p.close()
  }, 60_000)

  it('removes an unused volume after confirmation', async () => {
    const row = page.locator(`tr[data-volume="${volume}"]`)
    await row.waitFor()
    expect(await row.locator('[data-label="Used by"]').innerText()).toBe('unused')
    await row.getByRole('button', { name: `Remove ${volume}` }).click()
    await page.getByRole('button', { name: 'Remove volume' }).click()
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(0)
    await expect(docker.getVolume(volume).inspect()).rejects.toMatchObject({ statusCode: 404 })
    const stackVolume = page.locator('tr[data-volume]').filter({ hasText: stack })
    if ((await stackVolume.count()) > 0) expect(await stackVolume.first().getByRole('button').isDisabled()).toBe(true)
  }, 60_000)

  it('lists an environment made with node up, not the hub stack, and removes it', async () => {
    const row = page.locator(`tr[data-environment="${env}"]`)
    await row.waitFor()
    expect(await page.locator(`tr[data-environment="${stack}"]`).count()).toBe(0)
    expect(await row.locator('[data-label=Services]').innerText()).toBe('web (thresh-test/busybox:1)')
    await row.getByRole('button', { name: `Remove ${env}` }).click()
    await page.getByRole('button', { name: 'Remove environment' }).click()
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(0)
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`thresh.stack=${env}`] }) })
    expect(left).toEqual([])
  }, 60_000)

  it('shows a viewer the containers but no actions', async () => {
    const invitation = await hub.api<{ token: string }>('POST', '/api/invitations', { role: 'viewer' })
    const response = await fetch(`${hub.url}/api/invitations/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: invitation.token, username: 'h13b-ui-viewer', password: 'h13b-ui-viewer-password' }) })
    expect(response.status).toBe(201)
    const other = await openPage(browser)
    try {
      await signIn(other.page, 'h13b-ui-viewer', 'h13b-ui-viewer-password')
      await other.page.goto(`${hub.url}/#/nodes/${agent.agentId}`)
      const row = other.page.locator(`tr[data-container="${web}"]`)
      await row.waitFor({ timeout: 20_000 })
      // Reading its logs is all a viewer may do: no changes, no terminal.
      expect(await row.getByRole('button').allTextContents()).toEqual(['Usage', 'Logs'])
      expect(await other.page.getByRole('button', { name: 'Prune unused images' }).isVisible()).toBe(false)
      expect(other.errors).toEqual([])
    } finally {
      await other.context.close()
    }
  }, 60_000)
})
