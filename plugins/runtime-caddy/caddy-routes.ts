// Translates the proxy contract's rules (Traefik's syntax: `Host(`a`) && PathPrefix(`/x`)`, `||` between
// alternatives) into Caddy's JSON matcher sets, and builds the whole Caddy configuration for the routes.

/** One of Caddy's request matcher sets (https://caddyserver.com/docs/json/apps/http/servers/routes/match/). */
export type MatcherSet = {
  host?: string[]
  path?: string[]
  method?: string[]
  header?: Record<string, string[]>
  path_regexp?: { pattern: string }
}

export interface CaddyRoute {
  /** The rule as written (Traefik syntax). */
  rule: string
  /** `ip:port` of each container that serves it. */
  upstreams: string[]
}

const CALL = /^\s*(!?)\s*([A-Za-z]+)\s*\(([^()]*)\)\s*$/

function args(text: string, rule: string): string[] {
  const out: string[] = []
  const re = /\s*(?:`([^`]*)`|"([^"]*)"|'([^']*)')\s*(,|$)/gy
  let m: RegExpExecArray | null
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    out.push(m[1] ?? m[2] ?? m[3] ?? '')
    if (m[4] === '') break
  }
  if (out.length === 0 || re.lastIndex < text.trimEnd().length) throw new Error(`cannot read the arguments of rule ${rule}`)
  return out
}

/** The matcher sets (any one matching routes the request) for a rule; throws on forms Caddy cannot express. */
export function matchersOf(rule: string): MatcherSet[] {
  return rule.split('||').map((alternative) => {
    const set: MatcherSet = {}
    for (const part of alternative.split('&&')) {
      const m = CALL.exec(part)
      if (!m) throw new Error(`Caddy cannot route rule ${rule}: "${part.trim()}" is not a matcher like Host(\`a\`)`)
      if (m[1]) throw new Error(`Caddy cannot route rule ${rule}: negation (!) is not supported`)
      const values = args(m[3]!, rule)
      switch (m[2]) {
        case 'Host':
          ;(set.host ??= []).push(...values.map((v) => v.toLowerCase()))
          break
        case 'PathPrefix':
          // Traefik's prefix is a plain string prefix, as Caddy's trailing '*'.
          ;(set.path ??= []).push(...values.map((v) => `${v}*`))
          break
        case 'Path':
          ;(set.path ??= []).push(...values)
          break
        case 'Method':
          ;(set.method ??= []).push(...values.map((v) => v.toUpperCase()))
          break
        case 'Header':
          if (values.length !== 2) throw new Error(`Caddy cannot route rule ${rule}: Header takes a name and a value`)
          ;(set.header ??= {})[values[0]!] = [values[1]!]
          break
        case 'PathRegexp':
          set.path_regexp = { pattern: values[0]! }
          break
        default:
          throw new Error(`Caddy cannot route rule ${rule}: ${m[2]} is not supported (use Host, Path, PathPrefix, PathRegexp, Method or Header)`)
      }
    }
    return set
  })
}

/** Most specific first: Caddy takes the first route that matches. */
function specificity(sets: MatcherSet[]): number {
  return Math.max(...sets.map((s) => (s.host ? 1000 : 0) + Math.max(0, ...(s.path ?? []).map((p) => p.length)) + (s.method ? 1 : 0) + (s.header ? 1 : 0)))
}

/** Caddy's JSON configuration: one plain-HTTP server on :80 with a route per rule, 404 for the rest. */
export function caddyConfig(routes: CaddyRoute[]): Record<string, unknown> {
  const compiled = routes
    .filter((r) => r.upstreams.length > 0)
    .map((r) => ({ match: matchersOf(r.rule), upstreams: r.upstreams }))
    .sort((a, b) => specificity(b.match) - specificity(a.match))
  return {
    admin: { listen: 'localhost:2019' },
    apps: {
      http: {
        servers: {
          thresh: {
            listen: [':80'],
            automatic_https: { disable: true },
            routes: [
              ...compiled.map((r) => ({
                match: r.match,
                handle: [
                  {
                    handler: 'reverse_proxy',
                    upstreams: r.upstreams.map((dial) => ({ dial })),
                    // A request that meets an upstream going away is retried for a moment, not failed.
                    load_balancing: { try_duration: '2s', try_interval: '50ms' },
                  },
                ],
                terminal: true,
              })),
              { handle: [{ handler: 'static_response', status_code: 404, body: 'No route for this request.\n' }] },
            ],
          },
        },
      },
    },
  }
}
