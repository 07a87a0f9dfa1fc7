// A fresh hub in Debian's Chromium: the admin signs in with the one-time password the hub printed, is
// told to change it, changes it in the dashboard, and the old password stops working; where no
// WebSocket gets through, the live channel falls back to server-sent events.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { launchChromium, openPage, screenshot, type WatchedPage } from './support/browser.ts'
import { startHub, type TestHub } from './support/hub.ts'

requireTool('chromium')

let hub: TestHub
let browser: Browser
let tab: WatchedPage
const newPassword = 'a-password-i-chose-2026'

beforeAll(async () => {
  hub = await startHub({ oneTimePassword: true })
  browser = await launchChromium()
  tab = await openPage(browser)
  tab.page.setDefaultTimeout(10_000)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

const login = (password: string) =>
  fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) })

describe('the first-run admin', () => {
  it('is told to change the one-time password, changes it in the dashboard, and the old one is refused', async () => {
    const oneTime = hub.password
    expect(hub.proc.output()).toContain(`One-time password: ${oneTime}`)
    const page = tab.page
    await page.goto(hub.url)
    await page.getByLabel('Username').fill('admin')
    await page.getByLabel('Password').fill(oneTime)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const banner = page.getByRole('alert').filter({ hasText: 'Change your password' })
    await expect.poll(() => banner.isVisible()).toBe(true)
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Fleet' }).isVisible()).toBe(true)
    // The live channel is the dashboard hub (SignalR over a WebSocket), not the fallback.
    await expect.poll(() => page.locator('.live').textContent()).toBe('live')
    expect(await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.includes('/dashboardhub/negotiate')))).toBe(true)
    await screenshot(page, '15-first-run-banner')

    await banner.getByRole('button', { name: 'Change it now' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByLabel('Current password').fill('not-the-password')
    await dialog.getByLabel('New password', { exact: true }).fill(newPassword)
    await dialog.getByLabel('New password again').fill(newPassword)
    await dialog.getByRole('button', { name: 'Change password' }).click()
    await expect.poll(() => dialog.innerText()).toContain('The current password is not right.')

    await dialog.getByLabel('Current password').fill(oneTime)
    await dialog.getByRole('button', { name: 'Change password' }).click()
    await expect.poll(() => dialog.isVisible()).toBe(false)
    await expect.poll(() => banner.count()).toBe(0)
    // The saved session no longer asks for a change after a reload.
    await page.reload()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Fleet' }).isVisible()).toBe(true)
    expect(await page.getByText('Change your password').count()).toBe(0)

    expect((await login(oneTime)).status).toBe(401)
    const fresh = await login(newPassword)
    expect(fresh.status).toBe(200)
    expect((await fresh.json()).mustChangePassword).toBe(false)
    expect(tab.errors).toEqual([])
  })

  it('stays live over server-sent events when WebSockets to the hub are blocked', async () => {
    const blocked = await openPage(browser)
    // A proxy that refuses upgrades: every WebSocket to the dashboard hub closes at once.
    await blocked.context.routeWebSocket(/\/dashboardhub/, (ws) => ws.close())
    const page = blocked.page
    const requested: string[] = []
    page.on('request', (r) => requested.push(new URL(r.url()).pathname))
    await page.goto(hub.url)
    await page.getByLabel('Username').fill('admin')
    await page.getByLabel('Password').fill(newPassword)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('.live').textContent(), { timeout: 10_000 }).toBe('live')
    expect(requested).toContain('/dashboardhub/negotiate')
    expect(requested).toContain('/ui/events')
    expect(blocked.errors).toEqual([])
    await blocked.context.close()
  })
})
