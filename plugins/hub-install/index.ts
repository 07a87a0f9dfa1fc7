// The hub-install plugin: what a node needs to join with one pasted command, unauthenticated and
// holding no secret (the key comes in the pasted command): the install script at
// `GET /install/agent.sh` and the agent artifacts `npm run build:agent` makes, at
// `GET /install/thresh-agent.mjs` and `GET /install/thresh-agent-<platform>-<arch>` (the single
// executable, when built). The fleet CA at /install/ca.pem is hub-api's.
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { defineFields, definePlugin } from '../../core/index.ts'
import { findPackageRoot } from '../../lib/package-root.ts'

export const hubInstallFields = defineFields({
  agentArtifacts: { type: 'string', description: 'the directory holding thresh-agent.mjs and thresh-agent-<platform>-<arch> (default: dist/ of this installation)' },
})

const ARTIFACT = /^thresh-agent(\.mjs|-(linux|darwin)-(x64|arm64))$/

const missing = (name: string) =>
  Response.json(
    { error: 'artifact_missing', message: `This hub has no ${name}: make it on the hub with npm run build:agent (or thresh build --role agent --sea --out DIR/thresh-agent.mjs and agentArtifacts DIR).` },
    { status: 404 },
  )

export default definePlugin(() => ({
  name: 'hub-install',
  config: hubInstallFields,
  setup(ctx) {
    const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)), join('install', 'agent.sh'))
    const script = readFileSync(join(root, 'install', 'agent.sh'))
    const artifacts = resolve(ctx.settings.agentArtifacts ?? join(root, 'dist'))
    const app = ctx.server.app

    app.get('/install/agent.sh', () =>
      new Response(script, { headers: { 'content-type': 'text/x-shellscript; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' } }),
    )
    app.get('/install/:file{thresh-agent[^/]*}', (c) => {
      const name = c.req.param('file')
      if (!ARTIFACT.test(name)) return missing(name)
      const path = join(artifacts, name)
      let size: number
      try {
        size = statSync(path).size
      } catch {
        return missing(name)
      }
      const type = name.endsWith('.mjs') ? 'text/javascript; charset=utf-8' : 'application/octet-stream'
      const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>
      return new Response(body, { headers: { 'content-type': type, 'content-length': String(size), 'cache-control': 'no-cache' } })
    })
  },
}))
