// The hub-ui plugin: serves the dashboard at `/` and its assets under `/ui/*` (hashed, immutable,
// gzip, ETag), leaving `/api`, `/health`, `/metrics` and the SignalR hubs to their own plugins.
import type { Context } from 'hono'
import { definePlugin } from '../../core/index.ts'
import { type Asset, type AssetBundle, findPackageRoot, loadAssets } from './assets.ts'
import { mountLiveEvents } from './live-events.ts'

export interface HubUiOptions {
  /** Directory holding `hub-ui/` (default: found above this file). */
  root?: string
  /** How often `/ui/events` sends a keep-alive and rechecks the session, ms (default 15 s). */
  keepAliveMs?: number
}

const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'no-cache'

function respond(c: Context, asset: Asset, cacheControl: string): Response {
  const headers: Record<string, string> = {
    'content-type': asset.type,
    'cache-control': cacheControl,
    etag: asset.etag,
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
  }
  if (asset.type.startsWith('text/html')) {
    // The page talks only to its own origin; no CDN, no external fonts. Scripts come only from the
    // hub; inline styles are allowed because the terminal (xterm.js) sizes and colours its cells with
    // them and offers no nonce.
    headers['content-security-policy'] =
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    headers['referrer-policy'] = 'no-referrer'
  }
  const inm = c.req.header('if-none-match')
  if (inm && inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
    return new Response(null, { status: 304, headers })
  }
  const gzip = asset.gzip && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '')
  if (gzip) headers['content-encoding'] = 'gzip'
  const body = gzip ? asset.gzip! : asset.body
  headers['content-length'] = String(body.length)
  return new Response(c.req.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers })
}

export default definePlugin((options: HubUiOptions = {}) => ({
  name: 'hub-ui',
  async setup(ctx) {
    const opts = options
    const bundle: AssetBundle = await loadAssets(opts.root ?? findPackageRoot())
    if (bundle.validator === 'missing') {
      ctx.logger.warn('the stack validator is not built (run `npm run build`); the dashboard will rely on the hub to validate stacks')
    }
    const index = bundle.files.get('index.html')!
    const app = ctx.server.app

    app.on(['GET', 'HEAD'], '/', (c) => respond(c, index, REVALIDATE))
    // Registered before `/ui/*` so it is not taken for a file.
    const live = mountLiveEvents({
      app,
      logger: ctx.logger,
      subscribe: (fn) => ctx.bus.on('fleet:live', fn),
      ...(opts.keepAliveMs ? { keepAliveMs: opts.keepAliveMs } : {}),
      service: (name) => {
        try {
          return ctx.use(name as never)
        } catch {
          return undefined
        }
      },
    })
    ctx.metrics.gauge('hub_ui_live_connections', 'Dashboards connected to /ui/events.', () => live.connections)
    app.on(['GET', 'HEAD'], '/ui/*', (c) => {
      const rest = c.req.path.slice('/ui/'.length)
      const slash = rest.indexOf('/')
      // `/ui/<version>/app.js` is immutable; a stale version (an old tab) still gets today's file,
      // but must revalidate. `/ui/app.js` works too, for hand-written links.
      const versioned = slash > 0 && /^[0-9a-f]{12}$/.test(rest.slice(0, slash))
      const path = versioned ? rest.slice(slash + 1) : rest
      const asset = path === 'index.html' ? undefined : bundle.files.get(path)
      if (!asset) return c.json({ error: 'not_found', message: `The dashboard has no file '${path}'.` }, 404)
      return respond(c, asset, versioned && rest.startsWith(bundle.version + '/') ? IMMUTABLE : REVALIDATE)
    })
    ctx.logger.debug(`dashboard ${bundle.version}: ${bundle.files.size} files, validator from ${bundle.validator}`)
    return () => live.close()
  },
}))
