// The hub-ui plugin on a real hub process: the dashboard at `/`, hashed immutable assets under
// `/ui/`, gzip and ETags, and the API, health and metrics routes left alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub, type TestHub } from './support/hub.ts'

let hub: TestHub

beforeAll(async () => {
  hub = await startHub()
})
afterAll(async () => {
  await hub?.stop()
})

async function assetUrls(): Promise<{ version: string; script: string; style: string }> {
  const html = await (await fetch(`${hub.url}/`)).text()
  const script = /<script type="module" src="(\/ui\/([0-9a-f]{12})\/app\.js)"/.exec(html)
  const style = /<link rel="stylesheet" href="(\/ui\/[0-9a-f]{12}\/app\.css)"/.exec(html)
  if (!script || !style) throw new Error(`index.html does not name hashed assets:\n${html}`)
  return { version: script[2]!, script: script[1]!, style: style[1]! }
}

describe('dashboard assets', () => {
  it('serves the dashboard page at / that must be revalidated, with a strict content policy', async () => {
    const response = await fetch(`${hub.url}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'")
    const html = await response.text()
    expect(html).toContain('<title>thresh hub</title>')
    expect(html).not.toMatch(/https?:\/\//)
  })

  it('serves hashed scripts as immutable, gzipped when asked, and answers 304 to a known ETag', async () => {
    const { script } = await assetUrls()
    const plain = await fetch(`${hub.url}${script}`, { headers: { 'accept-encoding': 'identity' } })
    expect(plain.status).toBe(200)
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(plain.headers.get('content-type')).toMatch(/^text\/javascript/)
    const etag = plain.headers.get('etag')!
    expect(etag).toMatch(/^".+"$/)
    const body = await plain.text()
    expect(body).toContain('import')

    const again = await fetch(`${hub.url}${script}`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)

    const { request } = await import('node:http')
    const gzipped = await new Promise<{ encoding?: string; length: number }>((resolve, reject) => {
      request(`${hub.url}${script}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        let length = 0
        res.on('data', (c: Buffer) => (length += c.length))
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], length }))
      }).on('error', reject).end()
    })
    expect(gzipped.encoding).toBe('gzip')
    expect(gzipped.length).toBeLessThan(Buffer.byteLength(body))
  })

  it('serves the stack validator built from lib/stack for the browser', async () => {
    const { version } = await assetUrls()
    const response = await fetch(`${hub.url}/ui/${version}/stack/parse.js`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toContain('export function parseStack')
    expect(text).not.toMatch(/from ['"][^'"]+\.ts['"]/)
  })

  it('answers an unknown dashboard file with a JSON 404, and an old version with a revalidating copy', async () => {
    const { version } = await assetUrls()
    const missing = await fetch(`${hub.url}/ui/${version}/nope.js`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: 'not_found' })
    const stale = await fetch(`${hub.url}/ui/000000000000/app.css`)
    expect(stale.status).toBe(200)
    expect(stale.headers.get('cache-control')).toBe('no-cache')
  })

  it('leaves /health, /metrics and /api to the hub', async () => {
    expect(await (await fetch(`${hub.url}/health`)).json()).toEqual({ status: 'Healthy' })
    expect((await fetch(`${hub.url}/metrics`)).headers.get('content-type')).toMatch(/^text\/plain/)
    const api = await fetch(`${hub.url}/api/nodes`)
    expect(api.headers.get('content-type') ?? '').not.toMatch(/text\/html/)
  })
})
