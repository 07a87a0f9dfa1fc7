// The dashboard's logs and terminal in Chromium against a real hub and a real agent on Docker: the
// stack page shows its services' logs with ANSI colours, search narrows them; the terminal runs an
// interactive sh in the service's container, and resizing the page reaches the container (`stty size`).
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { requireTool } from '../support/require.ts'
import { createHub, eventually, removeStackObjects, startAgent, type HubProcess, type RunningAgent } from '../e2e/support.ts'
import { launchChromium, openPage, screenshot } from './support/browser.ts'

requireTool('docker')
requireTool('chromium')
let hub: HubProcess
let agent: RunningAgent
let browser: Browser
let token = ''
const stack = uniqueName('uilogs')

beforeAll(async () => {
  await connectDocker()
  hub = await createHub()
  token = await hub.login()
  const key = (await hub.createKey(token, 'agent', 'ui-streams')).key
  agent = await startAgent({ midtierUrl: hub.url, apiKey: key, transport: 'signalr', nodeName: `${stack}-node`, metricsInterval: '1s', pluginOptions: { 'runtime-docker': { proxy: false } } })
  await agent.until('connected', undefined, 30_000)
  await eventually('the node online', async () => ((await hub.request('GET', '/api/nodes', { token })).body.nodes.some((n: any) => n.hostname === `${stack}-node` && n.status === 'online') ? true : undefined), 30_000)
  const script = 'i=1; while true; do printf "\\033[31mred %s\\033[0m plain\\n" $i; echo "other $i"; i=$((i+1)); sleep 0.3; done'
  const deploy = await hub.request('POST', '/api/stacks/deploy', { token, body: { name: stack, targetNode: `${stack}-node`, services: { app: { image: 'thresh-test/busybox:1', command: ['sh', '-c', script] } } } })
  expect(deploy.status).toBeLessThan(300)
  await eventually('the stack running', async () => ((await hub.request('GET', `/api/stacks/${stack}`, { token })).body.status === 'running' ? true : undefined), 60_000)
  browser = await launchChromium()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  if (hub && token) await hub.request('DELETE', `/api/stacks/${stack}?wait=true`, { token }).catch(() => {})
  await agent?.proc.stop('SIGKILL')
  // Whatever the destroy did not get to (a test that failed half-way) goes too.
  await removeStackObjects(await connectDocker(), stack)
  await hub?.kill()
})

async function signedIn() {
  const tab = await openPage(browser)
  await tab.context.addInitScript((t: string) => sessionStorage.setItem('thresh.session', JSON.stringify({ accessToken: t, userName: 'admin', roles: ['owner'], role: 'owner' })), token)
  return tab
}

describe('dashboard logs and terminal', () => {
  it('follows the stack logs with ANSI colours, and search narrows them', async () => {
    const { page, errors, context } = await signedIn()
    await page.goto(`${hub.url}/#/stacks/${stack}`)
    const log = page.getByRole('log', { name: `Logs of ${stack}` })
    await log.locator('.ansi-red').first().waitFor({ timeout: 15_000 })
    expect(await log.locator('.ansi-red').first().textContent()).toMatch(/^red \d+$/)
    // Following: new lines keep arriving while the page is open.
    const count = await log.locator('.log-line').count()
    await eventually('more lines', async () => ((await log.locator('.log-line').count()) > count + 2 ? true : undefined))
    await page.getByRole('searchbox', { name: 'Search the logs' }).fill('other')
    const visible = await log.locator('.log-line:visible').allTextContents()
    expect(visible.length).toBeGreaterThan(0)
    expect(visible.every((l) => l.includes('other'))).toBe(true)
    await screenshot(page, 'stack-logs')
    expect(errors).toEqual([])
    await context.close()
  })

  it('opens a shell in the service, runs a command, and a resize reaches the container', async () => {
    const { page, errors, context } = await signedIn()
    await page.goto(`${hub.url}/#/stacks/${stack}`)
    await page.getByRole('button', { name: 'Terminal in app' }).click()
    const screen = page.locator('[data-terminal] .xterm-rows')
    await screen.waitFor()
    await eventually('the shell prompt', async () => (((await screen.textContent()) ?? '').includes('#') ? true : undefined))
    await page.locator('[data-terminal] .xterm-helper-textarea').focus()
    await page.keyboard.type('echo $((6*7)); stty size\n')
    const size = await eventually('the output', async () => {
      const text = (await screen.textContent()) ?? ''
      const match = /42\s*(\d+) (\d+)/.exec(text)
      return match ? [Number(match[1]), Number(match[2])] : undefined
    })
    // A smaller window: the terminal refits and the container hears the new size.
    await page.setViewportSize({ width: 700, height: 600 })
    await new Promise((r) => setTimeout(r, 500))
    await page.locator('[data-terminal] .xterm-helper-textarea').focus()
    await page.keyboard.type('echo size $(stty size)\n')
    const after = await eventually('the new size', async () => {
      const found = [...((await screen.textContent()) ?? '').matchAll(/size (\d+) (\d+)/g)].at(-1)
      return found && Number(found[2]) !== size[1] ? [Number(found[1]), Number(found[2])] : undefined
    })
    expect(after[1]).toBeLessThan(size[1]!)
    expect(after[0]).toBeLessThan(size[0]!)
    await screenshot(page, 'terminal')
    await page.getByRole('button', { name: 'Close' }).click()
    // Closing the dialog ends the session on the node.
    await eventually('the session closed', async () => {
      const entries = (await hub.request('GET', '/api/audit?limit=50', { token })).body.entries as Array<{ action: string }>
      return entries.some((e) => e.action === 'exec.end') ? true : undefined
    })
    expect(errors).toEqual([])
    await context.close()
  })
})
