// "Add node" on the dashboard's fleet page (issue #12), in Debian's Chromium against a real hub: it
// shows one command, the copy button copies it, and that command pasted on a "node" (a temporary
// THRESH_PREFIX) installs an agent that appears online in the fleet table.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installedAgentId, pasteInstallCommand, stopInstalledAgent } from '../support/install.ts'
import { tempHome } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { launchChromium, openPage, screenshot, type WatchedPage } from './support/browser.ts'
import { startHub, type TestHub } from './support/hub.ts'

requireTool('chromium')

let hub: TestHub
let browser: Browser
let tab: WatchedPage
let page: Page
const prefix = tempHome('thresh-ui-add-node-')

beforeAll(async () => {
  hub = await startHub()
  browser = await launchChromium()
  tab = await openPage(browser)
  page = tab.page
  page.setDefaultTimeout(10_000)
  await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url })
}, 90_000)

afterAll(async () => {
  stopInstalledAgent(prefix)
  await browser?.close()
  await hub?.stop()
}, 60_000)

describe('Add node', () => {
  it('shows one command that, pasted on a node, brings it online in the fleet', async () => {
    await page.goto(hub.url)
    await page.getByLabel('Username').fill('admin')
    await page.getByLabel('Password').fill(hub.password)
    await page.getByLabel('Password').press('Enter')
    await expect.poll(() => page.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 30_000 }).toBe(true)

    await page.getByRole('button', { name: 'Add node' }).click()
    const dialog = page.getByRole('dialog', { name: 'Add a node' })
    const command = await dialog.locator('[data-install-command]').innerText()
    expect(command).toMatch(/THRESH_API_KEY='thresh_live_[a-z0-9]+_[A-Za-z0-9]+'/)
    expect(command).toContain(`'${hub.url}/install/agent.sh'`)
    await dialog.getByRole('button', { name: 'Copy command' }).click()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command)
    await screenshot(page, 'add-node')
    await dialog.getByRole('button', { name: 'Done' }).click()

    const result = await pasteInstallCommand(command, prefix)
    expect(result.code, result.output).toBe(0)
    const row = page.locator(`tr[data-node="${installedAgentId(prefix)}"]`)
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).toMatch(/online/i)
  }, 120_000)
})
