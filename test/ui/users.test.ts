// The Users page in Debian's Chromium against a real hub: an admin invites someone and sees the link
// once, the invited person opens it, joins and sees the fleet read-only as a viewer; the admin then
// changes their role, revokes an invitation (its link stops working) and removes them.
import { randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentInfo } from '../support/agent-fixtures.ts'
import { requireTool } from '../support/require.ts'
import { launchChromium, openPage, screenshot, type WatchedPage } from './support/browser.ts'
import { startHub, type TestHub } from './support/hub.ts'

requireTool('chromium')

let hub: TestHub
let browser: Browser
let adminTab: WatchedPage
let admin: Page
let inviteUrl = ''
const nodeName = `fleet-node-${randomUUID().slice(0, 6)}`

beforeAll(async () => {
  hub = await startHub()
  // A node in the fleet for the invited viewer to see, registered over the agent REST protocol.
  const { key } = await hub.api<{ key: string }>('POST', '/api/keys', { type: 'agent', name: 'users test' })
  const agentId = randomUUID()
  const response = await fetch(`${hub.url}/api/agent/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'x-agent-id': agentId, 'content-type': 'application/json' },
    body: JSON.stringify(agentInfo(agentId, { hostname: nodeName })),
  })
  expect(response.ok).toBe(true)
  browser = await launchChromium()
  adminTab = await openPage(browser)
  admin = adminTab.page
  admin.setDefaultTimeout(10_000)
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
}, 60_000)

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(hub.url)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByLabel('Password').press('Enter')
  await expect.poll(() => page.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 30_000 }).toBe(true)
}

const navLinks = (page: Page) => page.locator('nav.nav a').allInnerTexts()

describe('users in the dashboard', () => {
  it('lets an admin invite a viewer and shows the one-time link once', async () => {
    await signIn(admin, 'admin', hub.password)
    await admin.getByRole('link', { name: 'Users', exact: true }).click()
    await expect.poll(() => admin.getByRole('heading', { name: 'Users', exact: true }).isVisible()).toBe(true)
    await expect.poll(() => admin.locator('tr[data-user="admin"]').innerText()).toMatch(/hub owner/)
    await admin.getByLabel('Role', { exact: true }).selectOption('viewer')
    await admin.getByRole('button', { name: 'Create invitation link' }).click()
    const secret = admin.locator('[data-secret]')
    await expect.poll(() => secret.isVisible()).toBe(true)
    inviteUrl = (await secret.innerText()).trim()
    expect(inviteUrl).toMatch(new RegExp(`^${hub.url}/#/invite/thresh_inv_[0-9a-f]{48}$`))
    await screenshot(admin, 'users-01-invitation-link')
    await expect.poll(() => admin.locator('tr[data-invitation]').count()).toBe(1)

    await admin.reload()
    await expect.poll(() => admin.locator('tr[data-invitation]').count()).toBe(1)
    expect(await admin.locator('[data-secret]').count()).toBe(0)
    expect(await admin.content()).not.toContain(inviteUrl.split('/').at(-1))
    expect(adminTab.errors).toEqual([])
  })

  it('lets the invited person join through the link and see the fleet read-only as a viewer', async () => {
    const tab = await openPage(browser)
    const page = tab.page
    page.setDefaultTimeout(10_000)
    await page.goto(inviteUrl)
    await expect.poll(() => page.getByRole('heading', { name: 'Join this hub' }).isVisible()).toBe(true)
    await page.getByLabel('Username').fill('ui-viewer')
    await page.getByLabel('Password').fill('short')
    await page.getByRole('button', { name: 'Join' }).click()
    await expect.poll(() => page.getByText('at least 12 characters').first().isVisible()).toBe(true)
    await page.getByLabel('Password').fill('ui-viewer-password')
    await page.getByRole('button', { name: 'Join' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 30_000 }).toBe(true)
    await expect.poll(() => page.locator(`tr:has(a:text-is("${nodeName}"))`).count(), { timeout: 10_000 }).toBe(1)
    expect(await page.locator('.who [data-role]').textContent()).toBe('viewer')
    expect(await navLinks(page)).toEqual(['Fleet', 'Stacks', 'Clusters', 'Events', 'Alerts'])
    await screenshot(page, 'users-02-viewer-fleet')
    expect(tab.errors).toEqual([])

    // Actions a viewer may not take are not offered: no deploy, no cluster creation, no node removal.
    await page.getByRole('link', { name: 'Stacks', exact: true }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Stacks' }).isVisible()).toBe(true)
    expect(await page.getByRole('link', { name: 'Deploy a stack' }).isVisible()).toBe(false)
    await page.getByRole('link', { name: 'Clusters', exact: true }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Clusters' }).isVisible()).toBe(true)
    expect(await page.getByRole('button', { name: 'Create cluster' }).isVisible()).toBe(false)
    await page.getByRole('link', { name: 'Fleet', exact: true }).click()
    await page.locator(`tr:has(a:text-is("${nodeName}"))`).getByRole('link', { name: nodeName }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: nodeName }).isVisible()).toBe(true)
    expect(await page.getByRole('button', { name: /^Remove/ }).isVisible()).toBe(false)

    // The hub, not just the menu, keeps a viewer out.
    await page.goto(`${hub.url}/#/settings/users`)
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'needs the admin role' }).isVisible()).toBe(true)

    // The link worked once.
    const again = await openPage(browser)
    await again.page.goto(inviteUrl)
    await again.page.getByLabel('Username').fill('ui-second')
    await again.page.getByLabel('Password').fill('ui-second-password')
    await again.page.getByRole('button', { name: 'Join' }).click()
    await expect.poll(() => again.page.getByRole('alert').filter({ hasText: 'already been used' }).isVisible()).toBe(true)
    await again.context.close()
    await tab.context.close()
  })

  it('changes a role, revokes an invitation so its link stops working, and removes a user', async () => {
    await admin.reload()
    await expect.poll(() => admin.locator('tr[data-user="ui-viewer"]').count()).toBe(1)
    await admin.getByLabel('Role of ui-viewer').selectOption('operator')
    await expect.poll(() => admin.getByText('ui-viewer is now operator.').isVisible()).toBe(true)
    const users = await hub.api<{ users: Array<{ userName: string; role: string }> }>('GET', '/api/users')
    expect(users.users.find((u) => u.userName === 'ui-viewer')?.role).toBe('operator')

    await admin.getByRole('button', { name: 'Create invitation link' }).click()
    await expect.poll(() => admin.locator('[data-secret]').isVisible()).toBe(true)
    const revokedUrl = (await admin.locator('[data-secret]').innerText()).trim()
    await admin.locator('tr[data-invitation] button', { hasText: 'Revoke' }).click()
    await expect.poll(() => admin.getByText('No pending invitations.').isVisible()).toBe(true)
    const other = await openPage(browser)
    await other.page.goto(revokedUrl)
    await other.page.getByLabel('Username').fill('ui-revoked')
    await other.page.getByLabel('Password').fill('ui-revoked-password')
    await other.page.getByRole('button', { name: 'Join' }).click()
    await expect.poll(() => other.page.getByRole('alert').filter({ hasText: 'was revoked' }).isVisible()).toBe(true)
    await other.context.close()

    await admin.getByRole('button', { name: 'Remove ui-viewer' }).click()
    await admin.getByRole('button', { name: 'Remove user' }).click()
    await expect.poll(() => admin.locator('tr[data-user="ui-viewer"]').count()).toBe(0)
    await screenshot(admin, 'users-03-after-remove')
    expect(adminTab.errors).toEqual([])
  })
})
