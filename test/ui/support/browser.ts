// Debian's Chromium driven by playwright-core (never a downloaded browser), with page errors collected
// so a test fails on a script error, and screenshots saved under test/artifacts/.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { repoRoot } from '../../support/process.ts'

export const artifacts: string = join(repoRoot, 'test', 'artifacts')

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
}

export interface WatchedPage {
  context: BrowserContext
  page: Page
  /** Uncaught exceptions and console errors seen so far. */
  errors: string[]
}

export async function openPage(browser: Browser, options: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1366, height: options.height ?? 860 },
    colorScheme: options.colorScheme ?? 'light',
    deviceScaleFactor: 1,
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    // A 401/404 the page handles is logged by Chromium as a failed resource; those are expected.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(`console: ${message.text()}`)
  })
  return { context, page, errors }
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(artifacts, { recursive: true })
  const path = join(artifacts, `${name}.png`)
  await page.screenshot({ path, fullPage })
  return path
}
