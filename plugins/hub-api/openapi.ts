// Builds the OpenAPI 3.1 document and a readable HTML page (no CDN, no scripts) from the route table.
import type { RouteDef } from './routes/index.ts'
import { arr, obj, str, type Schema } from './schema.ts'

const errorSchema = obj({ error: str({ example: 'not_found' }), message: str({ example: 'No node named web-1 in this account.' }), details: arr(str()) }, ['error', 'message'])

const SCOPE_TEXT = { cli: 'a CLI token (thresh_cli_…)', mid: 'a mid-tier key (thresh_mid_…)', none: 'no credential' }

export function openApiDocument(routes: RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }))
    const query = Object.entries(route.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema, description: schema.description }))
    const errors: Record<string, unknown> = {}
    const error = (status: number, text: string) => (errors[status] = { description: text, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
    if (route.body || route.query || params.length) error(400, 'Bad input')
    if (route.scope !== 'none') {
      error(401, 'Missing, unknown, expired or revoked credential')
      error(403, route.role ? `A credential of another kind (scope), or a user below the ${route.role} role${route.hubOwner ? ' or not the hub owner' : ''}` : 'A credential of another kind (scope)')
    }
    if (params.length) error(404, 'Not found in this account')
    if (route.method !== 'get') error(409, 'Conflict with the current state')
    if (route.body) error(413, 'Body too large')
    if (route.scope === 'none') error(429, 'Too many attempts')
    error(503, 'A dependency (database, node) is unavailable')
    paths[route.path] ??= {}
    paths[route.path]![route.method] = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      operationId: `${route.method}${route.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase()).replace(/[^a-zA-Z0-9]/g, '')}`,
      security: route.scope === 'none' ? [] : [{ [route.scope]: [] }],
      'x-thresh-scope': route.scope,
      ...(route.role ? { 'x-thresh-role': route.role } : {}),
      ...(route.hubOwner ? { 'x-thresh-hub-owner': true } : {}),
      parameters: [...params, ...query],
      ...(route.body ? { requestBody: { required: !route.bodyOptional, content: { 'application/json': { schema: route.body } } } } : {}),
      responses: {
        [route.status]: { description: 'Success', ...(route.response ? { content: { 'application/json': { schema: route.response } } } : {}) },
        ...errors,
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'thresh hub API',
      version,
      description:
        'The hub of a thresh fleet: nodes, clusters, stacks, keys, users. Errors are JSON {error, message}. Each user route names the least account role it needs (x-thresh-role): viewer reads; operator also deploys, updates, stops, starts and destroys stacks, brings nodes up, removes nodes and changes clusters; admin also manages keys, users, invitations and reads the audit log; owner also manages owners.',
    },
    components: {
      securitySchemes: {
        cli: { type: 'http', scheme: 'bearer', description: 'thresh_cli_ token from POST /api/auth/login' },
        mid: { type: 'http', scheme: 'bearer', description: 'thresh_mid_ key of a mid-tier' },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  }
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

function schemaText(schema: Schema | undefined): string {
  return schema ? escape(JSON.stringify(schema, null, 2)) : ''
}

export function docsPage(routes: RouteDef[], version: string): string {
  const tags = [...new Set(routes.map((r) => r.tag))]
  const sections = tags
    .map((tag) => {
      const items = routes
        .filter((r) => r.tag === tag)
        .map((r) => {
          const query = Object.entries(r.query ?? {})
            .map(([name, s]) => `<li><code>${escape(name)}</code> ${escape(s.description ?? s.type ?? '')}</li>`)
            .join('')
          return `<section class="op" id="${escape(r.method + r.path)}">
<h3><span class="m ${r.method}">${r.method.toUpperCase()}</span> <code>${escape(r.path)}</code></h3>
<p>${escape(r.summary)}${r.description ? ` — ${escape(r.description)}` : ''}</p>
<p class="scope">Credential: ${SCOPE_TEXT[r.scope]}${r.role ? `, user role ${r.role} or above` : ''}${r.hubOwner ? ', hub owner only' : ''}. Success: ${r.status}.</p>
${query ? `<p>Query:</p><ul>${query}</ul>` : ''}
${r.body ? `<details><summary>Request body</summary><pre>${schemaText(r.body)}</pre></details>` : ''}
${r.response ? `<details><summary>Response</summary><pre>${schemaText(r.response)}</pre></details>` : ''}
</section>`
        })
        .join('\n')
      return `<h2 id="${escape(tag)}">${escape(tag)}</h2>\n${items}`
    })
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>thresh hub API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
code,pre{font-family:ui-monospace,monospace}pre{background:#f4f5f7;padding:.75rem;overflow:auto;border-radius:6px}
.op{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4.5rem;font-size:.8rem;padding:.1rem .4rem;border-radius:4px;color:#fff;text-align:center}
.get{background:#2b7a3d}.post{background:#1f5fad}.patch{background:#8a5a00}.delete{background:#b3261e}.scope{color:#555;font-size:.9rem}
nav a{margin-right:1rem}
</style></head><body>
<h1>thresh hub API <small>${escape(version)}</small></h1>
<p>Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are <code>{"error": "&lt;code&gt;", "message": "&lt;sentence&gt;"}</code>
with status 400, 401, 403, 404, 409, 413, 429 or 503. Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>.</p>
<nav>${tags.map((t) => `<a href="#${escape(t)}">${escape(t)}</a>`).join('')}</nav>
${sections}
<h2>Also</h2><ul><li><code>GET /health</code> → <code>{"status":"Healthy"}</code></li><li><code>GET /metrics</code> Prometheus text</li>
<li>Agents: SignalR at <code>/agenthub</code> and REST polling at <code>/api/agent/*</code> (thresh_live_ keys); mid-tiers: SignalR at <code>/midtierhub</code> (thresh_mid_ keys).</li>
<li>Dashboards: live fleet events over SignalR at <code>/dashboardhub</code>, or as server-sent events at <code>/ui/events</code> (thresh_cli_ tokens).</li></ul>
</body></html>`
}
