// Refuses requests a web browser could send to the agent's loopback port on behalf of a page the
// node's user visits: the switch endpoints are for `thresh agent failover|failback` only.
import type { Context, MiddlewareHandler } from 'hono'

const refuse = (c: Context, message: string, status: 403 | 415) => c.json({ error: status === 403 ? 'cross_site_refused' : 'unsupported_media_type', message }, status)

/**
 * A browser always names the page's origin (`Origin`, `Sec-Fetch-Site`) on a POST, and cannot send
 * `application/json` to another origin without a CORS preflight, which this port never grants; the
 * CLI sends JSON and neither header. Checking both also stops DNS rebinding, whose requests look
 * same-origin but still carry the attacker's `Origin`.
 */
export const sameMachineOnly: MiddlewareHandler = async (c, next) => {
  const site = c.req.header('sec-fetch-site')
  if (c.req.header('origin') !== undefined || (site !== undefined && site !== 'none')) {
    return refuse(c, 'The agent refuses requests from web pages; use `thresh agent failover` or `thresh agent failback` on the node.', 403)
  }
  if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) {
    return refuse(c, 'Send this request with Content-Type: application/json, as `thresh agent failover|failback` does.', 415)
  }
  await next()
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/**
 * Reads of the agent's state answer only requests addressed to this machine by a loopback name (or
 * the address it listens on): a DNS-rebinding page reaches the port under its own host name.
 */
export function addressedToThisMachine(listenHost: string): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '').toLowerCase()
    if (!LOOPBACK_NAMES.has(host) && host !== listenHost.toLowerCase()) {
      return refuse(c, `The agent answers only requests to 127.0.0.1 or localhost, not to '${host.slice(0, 100)}'.`, 403)
    }
    await next()
  }
}
