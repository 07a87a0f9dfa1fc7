// The dashboard in Debian's Chromium against a real hub process with a real agent (official SignalR
// client, stacks run on the real Docker engine): sign in, live fleet, node page, deploy, update,
// destroy, keys, clusters, audit, phone width — with screenshots of every page in test/artifacts/.
import type { Browser, Page } from 'playwright-core'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'
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
const stackName = uniqueName('uistack')
const nodeName = uniqueName('ui-node')
let hostPort = 0
let dbPort = 0

beforeAll(async () => {
  docker = await connectDocker()
  hub = await startHub()
  const key = await hub.api<{ key: string }>('POST', '/api/keys', { type: 'agent', name: 'ui test agent' })
  agent = await startTestAgent({ url: hub.url, apiKey: key.key, hostname: nodeName, metricsEveryMs: 700 })
  browser = await launchChromium()
  tab = await openPage(browser)
  page = tab.page
  page.setDefaultTimeout(10_000)
  await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hub.url })
  hostPort = await freePort()
  dbPort = await freePort()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await agent?.close()
  // A failed run must not leave containers behind.
  if (docker) {
    const filters = JSON.stringify({ label: [`thresh.stack=${stackName}`] })
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {})
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {})
  }
  await hub?.stop()
}, 60_000)

const row = (name: string) => page.locator(`tr:has(a:text-is("${name}"))`)

describe('the hub dashboard', () => {
  it('signs in with the keyboard alone and lands on the fleet', async () => {
    await page.goto(hub.url)
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true)
    await screenshot(page, '01-sign-in')
    // Username has focus on arrival; Tab reaches the password; Enter submits.
    await page.keyboard.type('admin')
    await page.keyboard.press('Tab')
    await page.keyboard.type('wrong-password')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'do not match' }).isVisible()).toBe(true)
    await page.getByLabel('Password').fill(hub.password)
    await page.getByLabel('Password').press('Enter')
    await expect.poll(() => page.getByRole('heading', { name: 'Fleet' }).isVisible(), { timeout: 30_000 }).toBe(true)
    expect(tab.errors).toEqual([])
  })

  it('shows the connected node with status, metrics, version and platform, and its CPU changes without a reload', async () => {
    await expect.poll(() => row(nodeName).count(), { timeout: 15_000 }).toBe(1)
    const r = row(nodeName)
    await expect.poll(() => r.locator('[data-label=Status]').innerText()).toMatch(/Online/)
    expect(await r.locator('[data-label=Version]').innerText()).toContain('0.1.0-test')
    expect(await r.locator('[data-label=Platform]').innerText()).toContain('linux')
    expect(await r.locator('[data-label=Memory]').innerText()).toMatch(/GB \/ 16(\.0)? GB/)
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42))
    const cpu = r.locator('[data-label=CPU]')
    const first = await cpu.innerText()
    await expect.poll(() => cpu.innerText(), { timeout: 20_000 }).not.toBe(first)
    const second = await cpu.innerText()
    await expect.poll(() => cpu.innerText(), { timeout: 20_000 }).not.toBe(second)
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42)
    await screenshot(page, '02-fleet')
  })

  it('filters the fleet by status', async () => {
    await page.getByLabel('Status').selectOption('offline')
    await expect.poll(() => row(nodeName).isVisible()).toBe(false)
    expect(await page.getByText('No nodes match these filters.').isVisible()).toBe(true)
    await page.getByLabel('Status').selectOption('')
    await expect.poll(() => row(nodeName).isVisible()).toBe(true)
  })

  it('opens a node with its cores, disks, containers and history charts for 1 h, 24 h and 7 d', async () => {
    await row(nodeName).getByRole('link', { name: nodeName }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: nodeName }).isVisible()).toBe(true)
    await expect.poll(() => page.locator('svg.chart').count(), { timeout: 10_000 }).toBe(4)
    // Per-core CPU, mounts and container names arrive with the agent's live reports.
    await expect.poll(() => page.getByRole('list', { name: 'CPU per core' }).locator('li').count(), { timeout: 10_000 }).toBe(4)
    expect(await page.getByRole('rowheader', { name: '/var/lib/docker' }).isVisible()).toBe(true)
    expect(await page.locator('.live').textContent()).toBe('live')
    for (const label of ['24 hours', '7 days', '1 hour']) {
      await page.getByRole('button', { name: label }).click()
      await expect.poll(() => page.getByRole('button', { name: label }).getAttribute('aria-pressed')).toBe('true')
    }
    await expect.poll(() => page.getByText('History').isVisible()).toBe(true)
    await screenshot(page, '03-node')
  })

  it("shows a node's cores and disks from the hub's last report alone, with no live channel", async () => {
    const quiet = await openPage(browser)
    // No WebSocket and no event stream: the page has only what GET /api/nodes/{id} answers.
    await quiet.context.routeWebSocket(/\/dashboardhub/, (ws) => ws.close())
    await quiet.context.route(/\/ui\/events/, (route) => route.abort())
    await quiet.page.goto(hub.url)
    await quiet.page.getByLabel('Username').fill('admin')
    await quiet.page.getByLabel('Password').fill(hub.password)
    await quiet.page.getByRole('button', { name: 'Sign in' }).click()
    // The node's row (the overview above the table names the busiest nodes too).
    await quiet.page.locator(`tr:has(a:text-is("${nodeName}"))`).getByRole('link', { name: nodeName }).click()
    await expect.poll(() => quiet.page.getByRole('list', { name: 'CPU per core' }).locator('li').count(), { timeout: 5000 }).toBe(4)
    expect(await quiet.page.getByRole('rowheader', { name: '/var/lib/docker' }).isVisible()).toBe(true)
    expect(await quiet.page.locator('.live').textContent()).not.toBe('live')
    await quiet.context.close()
  })

  it('shows validation problems next to the definition before anything is sent', async () => {
    const deployRequests: string[] = []
    page.on('request', (r) => r.url().includes('/api/stacks/deploy') && deployRequests.push(r.url()))
    await page.getByRole('link', { name: 'Stacks', exact: true }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Stacks', exact: true }).isVisible()).toBe(true)
    await page.getByRole('link', { name: 'Deploy a stack' }).click()
    const definition = page.getByLabel('Stack definition')
    await definition.fill(
      JSON.stringify({ name: stackName, services: { a: { image: 'thresh-test/busybox:1', depends_on: ['b'] }, b: { image: 'thresh-test/busybox:1', depends_on: ['a'], ports: ['nope'] } } }, null, 2),
    )
    await page.getByRole('button', { name: 'Deploy' }).click()
    const error = page.locator('#' + (await definition.getAttribute('id')) + '-error')
    await expect.poll(() => error.innerText()).toContain('Circular dependency detected: a → b → a')
    expect(await error.innerText()).toContain('services.b.ports[0]')
    expect(await definition.getAttribute('aria-invalid')).toBe('true')
    await screenshot(page, '04-deploy-invalid')
    expect(deployRequests).toEqual([])
  })

  it('deploys a stack to the chosen node and shows its services reach running on Docker', async () => {
    const stack = {
      name: stackName,
      services: {
        db: { image: 'docker:thresh-test/busybox:1', ports: [`${dbPort}:8080`], volumes: ['data:/data'], env: { PORT: '8080' } },
        web: { image: 'thresh-test/busybox:1', ports: [`${hostPort}:8080`], depends_on: ['db'], env: { PORT: '8080', DB: 'http://${db.host}:${db.port}' } },
      },
    }
    await page.getByLabel('Stack definition').fill(JSON.stringify(stack, null, 2))
    await expect.poll(() => page.locator('.preview').innerText()).toContain('db')
    await page.getByRole('radio', { name: 'A node' }).check()
    await page.getByLabel('Node', { exact: true }).selectOption({ label: nodeName })
    await screenshot(page, '05-deploy-valid')
    await page.getByRole('button', { name: 'Deploy' }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: stackName }).isVisible(), { timeout: 10_000 }).toBe(true)
    for (const svc of ['db', 'web']) {
      await expect.poll(() => page.locator(`tr[data-service=${svc}] .badge`).textContent(), { timeout: 60_000 }).toBe('running')
    }
    expect(await httpText(`http://127.0.0.1:${hostPort}/version.txt`)).toBe('1')
    expect(await page.locator('tr[data-service=web] [data-label=Ports]').innerText()).toContain(`${hostPort}:8080`)
    await screenshot(page, '06-stack-running')
  }, 90_000)

  it('updates one service image and the new release serves', async () => {
    await page.getByRole('button', { name: 'Update image of web' }).click()
    const image = page.getByLabel('New image')
    await image.fill('')
    await page.getByRole('button', { name: 'Update image', exact: true }).click()
    await expect.poll(() => page.getByRole('dialog').getByRole('alert').innerText()).toContain('Enter an image reference')
    await image.fill('thresh-test/busybox:2')
    await page.getByRole('button', { name: 'Update image', exact: true }).click()
    await expect.poll(() => page.locator('tr[data-service=web] [data-label=Image]').innerText(), { timeout: 60_000 }).toContain('busybox:2')
    await expect.poll(() => page.locator('tr[data-service=web] .badge').textContent(), { timeout: 60_000 }).toBe('running')
    await expect.poll(() => httpText(`http://127.0.0.1:${hostPort}/version.txt`).catch(() => ''), { timeout: 20_000 }).toBe('2')
    expect(await page.locator('tr[data-service=db] [data-label=Image]').innerText()).toContain('busybox:1')
  }, 90_000)

  it('stops a stack keeping its volumes and starts it again', async () => {
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect.poll(() => page.locator('.page-head .badge').textContent(), { timeout: 60_000 }).toBe('stopped')
    expect((await labelledObjects(docker, stackName)).some((o) => o.startsWith('volume'))).toBe(true)
    await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(() => page.locator('.page-head .badge').textContent(), { timeout: 60_000 }).toBe('running')
  }, 120_000)

  it('rolls back a failed redeploy from the deploy form (its default): the stack reads running with why it was rolled back', async () => {
    const deployUrls: string[] = []
    const listen = (r: { url(): string }) => void (r.url().includes('/api/stacks/deploy') && deployUrls.push(r.url()))
    page.on('request', listen)
    try {
      await page.locator('.nav').getByRole('link', { name: 'Stacks', exact: true }).click()
      await page.getByRole('link', { name: 'Deploy a stack' }).click()
      expect(await page.getByLabel('Roll back if any service fails (a first deploy leaves nothing behind)').isChecked()).toBe(true)
      const broken = {
        name: stackName,
        services: {
          db: { image: 'docker:thresh-test/busybox:1', ports: [`${dbPort}:8080`], volumes: ['data:/data'], env: { PORT: '8080' } },
          web: { image: 'thresh-test/busybox:2', ports: [`${hostPort}:8080`], depends_on: ['db'], env: { PORT: '8080', DB: 'http://${db.host}:${db.port}', FAIL: '1' } },
        },
      }
      await page.getByLabel('Stack definition').fill(JSON.stringify(broken, null, 2))
      await page.getByRole('button', { name: 'Deploy' }).click()
      await expect.poll(() => page.locator('.note-box').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/^Last deploy rolled back: web: exited with status 3/)
      expect(await page.locator('.page-head .badge').textContent()).toBe('running')
      expect(await page.locator('.error-box').count()).toBe(0)
      expect(deployUrls.at(-1)).toContain('rollback=true')
      expect(await httpText(`http://127.0.0.1:${hostPort}/version.txt`)).toBe('2')
      await screenshot(page, '06b-rolled-back')
    } finally {
      page.off('request', listen)
    }
  }, 120_000)

  it('destroys a stack only after its name is typed, warning that volumes go', async () => {
    await page.getByRole('button', { name: 'Destroy…' }).click()
    const dialog = page.getByRole('dialog')
    expect(await dialog.innerText()).toMatch(/volumes/)
    const confirm = dialog.getByRole('button', { name: 'Destroy stack' })
    expect(await confirm.isDisabled()).toBe(true)
    await dialog.getByLabel(`Type ${stackName} to confirm`).fill(stackName.slice(0, -1))
    expect(await confirm.isDisabled()).toBe(true)
    await dialog.getByLabel(`Type ${stackName} to confirm`).fill(stackName)
    await screenshot(page, '07-destroy-confirm')
    await confirm.click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Stacks' }).isVisible(), { timeout: 60_000 }).toBe(true)
    await expect.poll(() => labelledObjects(docker, stackName), { timeout: 60_000 }).toEqual([])
    await expect.poll(() => page.locator(`tr[data-stack="${stackName}"]`).count(), { timeout: 30_000 }).toBe(0)
  }, 120_000)

  it('takes a compose file: lists unsupported keys with their lines, leaves them out when asked, and deploys it', async () => {
    const composeName = uniqueName('ui-compose')
    const port = await freePort()
    await page.getByRole('link', { name: 'Deploy a stack' }).click()
    const definition = page.getByLabel('Stack definition')
    await definition.fill(
      `name: ${composeName}\nservices:\n  web:\n    image: thresh-test/busybox:1\n    build: .\n    restart: always\n    labels: [com.example.ui=yes]\n    ports: ["127.0.0.1:${port}:8080"]\n`,
    )
    const error = page.locator('#' + (await definition.getAttribute('id')) + '-error')
    await expect.poll(() => error.innerText()).toContain('services.web.build (line 5): build is not supported')
    await page.getByLabel('Leave out compose keys thresh does not support').check()
    await expect.poll(() => page.locator('.preview').innerText()).toContain(composeName)
    expect(await page.locator('.preview').innerText()).toContain('services.web.build (line 5)')
    await page.getByRole('radio', { name: 'A node' }).check()
    await page.getByLabel('Node', { exact: true }).selectOption({ label: nodeName })
    await page.getByRole('button', { name: 'Deploy' }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: composeName }).isVisible(), { timeout: 10_000 }).toBe(true)
    await expect.poll(() => page.locator('tr[data-service=web] .badge').textContent(), { timeout: 60_000 }).toBe('running')
    expect(await httpText(`http://127.0.0.1:${port}/version.txt`)).toBe('1')
    const [container] = await docker.listContainers({ filters: JSON.stringify({ label: [`thresh.stack=${composeName}`] }) })
    const info = await docker.getContainer(container!.Id).inspect()
    expect(info.Config.Labels['com.example.ui']).toBe('yes')
    expect(info.HostConfig.RestartPolicy?.Name).toBe('always')
    await hub.api('DELETE', `/api/stacks/${composeName}?wait=true`)
    await expect.poll(() => labelledObjects(docker, composeName), { timeout: 60_000 }).toEqual([])
  }, 120_000)

  it('creates an agent key shown once with a copy button and the command that installs a node with it, then revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'API keys' }).isVisible()).toBe(true)
    await page.getByLabel('Name').fill('rack 2')
    await page.getByRole('button', { name: 'Create key' }).click()
    const secret = page.locator('[data-secret]')
    await expect.poll(() => secret.innerText()).toMatch(/^thresh_live_/)
    const key = await secret.innerText()
    // The one command that installs a node with it (install/agent.sh).
    expect(await page.locator('pre.code').innerText()).toContain(`THRESH_API_KEY='${key}'`)
    expect(await page.locator('pre.code').innerText()).toContain(`'${hub.url}/install/agent.sh'`)
    expect(await page.locator('pre.code').innerText()).not.toContain('tls-verify')
    // The fleet CA's fingerprint is shown where the key is made.
    const { fingerprint } = (await (await fetch(`${hub.url}/api/tls`)).json()) as { fingerprint: string }
    expect(fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(await page.locator('[data-fingerprint]').first().innerText()).toBe(fingerprint)
    await page.getByRole('button', { name: 'Copy key' }).click()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
    await screenshot(page, '08-key-created')

    await page.getByRole('button', { name: 'Done, hide the secret' }).click()
    expect(await page.locator('[data-secret]').count()).toBe(0)
    const keyRow = page.locator('tr', { has: page.locator('th', { hasText: 'rack 2' }) })
    await keyRow.getByRole('button', { name: 'Revoke rack 2' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click()
    await expect.poll(() => keyRow.locator('.badge').textContent()).toBe('revoked')
    const refused = await fetch(`${hub.url}/api/agent/register`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'x-agent-id': 'x', 'content-type': 'application/json' }, body: '{}' })
    expect(refused.status).toBe(401)
    await screenshot(page, '09-keys')
  })

  it('creates a cluster, adds the node, and filters the fleet by it', async () => {
    const cluster = uniqueName('rack')
    await page.getByRole('link', { name: 'Clusters' }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Clusters' }).isVisible()).toBe(true)
    await page.getByLabel('Name').fill('Bad Name!')
    await page.getByRole('button', { name: 'Create cluster' }).click()
    await expect.poll(() => page.getByRole('alert').first().innerText()).toContain('lowercase')
    await page.getByLabel('Name').fill(cluster)
    await page.getByRole('button', { name: 'Create cluster' }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: cluster }).isVisible()).toBe(true)
    await page.getByLabel('Add a node', { exact: true }).selectOption({ label: nodeName })
    await page.getByRole('button', { name: 'Add to cluster' }).click()
    await expect.poll(() => page.getByRole('link', { name: nodeName }).isVisible()).toBe(true)
    await screenshot(page, '10-cluster')
    await page.getByRole('link', { name: 'Fleet' }).click()
    await expect.poll(() => row(nodeName).locator('[data-label=Cluster]').innerText(), { timeout: 10_000 }).toBe(cluster)
    await page.getByLabel('Cluster').selectOption(cluster)
    expect(await row(nodeName).isVisible()).toBe(true)
  })

  it('lists what happened in the audit log', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click()
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Audit log' }).isVisible()).toBe(true)
    await expect.poll(() => page.locator('table').innerText()).toMatch(/stack/)
    await screenshot(page, '11-audit')
  })

  it('works at phone width without sideways scrolling', async () => {
    const phone = await openPage(browser, { width: 390, height: 844 })
    await phone.page.goto(hub.url)
    await phone.page.getByLabel('Username').fill('admin')
    await phone.page.getByLabel('Password').fill(hub.password)
    await phone.page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => phone.page.locator(`tr:has(a:text-is("${nodeName}"))`).count(), { timeout: 10_000 }).toBe(1)
    for (const [hash, name] of [['#/', '12-phone-fleet'], ['#/stacks/new', '13-phone-deploy'], ['#/settings/keys', '14-phone-keys']]) {
      await phone.page.goto(`${hub.url}/${hash}`)
      await phone.page.waitForLoadState('networkidle')
      await phone.page.waitForTimeout(200)
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth - innerWidth)).toBeLessThanOrEqual(0)
      await screenshot(phone.page, name)
    }
    expect(phone.errors).toEqual([])
    await phone.context.close()
  })

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true)
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0)
    expect(tab.errors).toEqual([])
  })
})
