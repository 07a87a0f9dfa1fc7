// Who may read which part of `/metrics`: a hub's gauges count nodes, stacks and commands across every
// account, so there they are for a scraper holding the metricsToken; this process's own gauges are not.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'

export type MetricsScope = 'all' | 'process' | 'refused'

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * Without a token set, `publicMetrics` decides for everyone. With one, a scrape with the right
 * `Authorization: Bearer <token>` gets `all`, one without it `process`, and a wrong one is `refused`,
 * so a misconfigured scraper is told rather than silently given less.
 */
export function metricsScope(c: Context, token: string | undefined, publicMetrics: 'all' | 'process'): MetricsScope {
  if (token === undefined) return publicMetrics
  const header = c.req.header('authorization')
  if (header === undefined) return 'process'
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim()
  return given !== undefined && timingSafeEqual(digest(given), digest(token)) ? 'all' : 'refused'
}
