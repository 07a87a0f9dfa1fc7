// `npm run build:agent`: the single-file agent (dist/thresh-agent.mjs) and, unless --no-sea, the Node
// single executable beside it (dist/thresh-agent-<platform>-<arch>), from the TypeScript sources.
// `--out-dir DIR` writes them to DIR instead.
import { join, resolve } from 'node:path'
import { createJiti } from 'jiti'

const { buildAgent, defaultSeaPath } = await createJiti(import.meta.url).import('../lib/build/agent-bundle.ts')
const at = process.argv.indexOf('--out-dir')
const dir = at > 0 ? resolve(process.argv[at + 1]) : new URL('../dist', import.meta.url).pathname
const out = join(dir, 'thresh-agent.mjs')
try {
  const result = await buildAgent({ out, sea: process.argv.includes('--no-sea') ? undefined : defaultSeaPath(out) })
  console.log(`✓ ${result.bundle} (${(result.bytes / 1024 / 1024).toFixed(2)} MB)`)
  if (result.sea) console.log(`✓ ${result.sea}`)
} catch (error) {
  console.error(error.message)
  process.exit(1)
}
