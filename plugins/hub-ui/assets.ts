// Loads the dashboard's files (hub-ui/ plus the browser build of lib/stack) into memory once, with a
// content version for immutable URLs, ETags and gzip copies, so serving them costs no disk reads.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, extname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findPackageRoot as findRoot } from '../../lib/package-root.ts'
import { gzipSync } from 'node:zlib'

export interface Asset {
  body: Uint8Array
  gzip?: Uint8Array
  type: string
  etag: string
}

export interface AssetBundle {
  /** Short hash of every asset: the `/ui/<version>/` path segment. */
  version: string
  /** Keyed by path relative to the UI root (`app.js`, `stack/parse.js`). */
  files: Map<string, Asset>
  /** Where the stack validator came from: `dist`, `typescript`, or `missing`. */
  validator: 'dist' | 'typescript' | 'missing'
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
}
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt'])
// The modules the browser validator needs: lib/stack's parse and what it imports, nothing with Node
// APIs. Served one folder shallower (`lib/stack/parse` as `stack/parse.js`, `core/duration` as is).
const VALIDATOR_MODULES = ['lib/stack/parse', 'lib/stack/service-extras', 'lib/stack/graph', 'lib/stack/json-guard', 'lib/stack/json-location', 'lib/stack/text-forms', 'lib/stack/types', 'lib/stack/proxy-contract', 'core/duration']
const servedAs = (module: string) => `${module.replace(/^lib\//, '')}.js`
// `lib/stack/parse` imports `../../core/duration`; one folder shallower, that is `../core/duration`.
const reroot = (module: string, code: string) => (module.startsWith('lib/') ? code.replace(/(from\s+['"])\.\.\/\.\.\//g, '$1../') : code)

/** Finds the repository (or package) root that holds `hub-ui/`, from source or from dist/. */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  try {
    return findRoot(from, join('hub-ui', 'index.html'))
  } catch {
    throw new Error(`Cannot find the dashboard files (hub-ui/index.html) above ${from}.`)
  }
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, out)
    else out.push(path)
  }
  return out
}

function makeAsset(path: string, body: Uint8Array): Asset {
  const ext = extname(path)
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
  return {
    body,
    gzip: COMPRESSIBLE.has(ext) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined,
    type: TYPES[ext] ?? 'application/octet-stream',
    etag,
  }
}

async function stackValidatorSources(root: string): Promise<{ from: AssetBundle['validator']; files: Map<string, string> }> {
  const files = new Map<string, string>()
  const compiled = join(root, 'dist')
  if (VALIDATOR_MODULES.every((m) => existsSync(join(compiled, `${m}.js`)))) {
    for (const m of VALIDATOR_MODULES) files.set(servedAs(m), reroot(m, readFileSync(join(compiled, `${m}.js`), 'utf8')))
    return { from: 'dist', files }
  }
  // Running from source without a build (Deno straight from a clone): strip types with TypeScript
  // when it is installed; otherwise the page says validation happens on the hub.
  try {
    const ts = (await import('typescript')).default
    for (const m of VALIDATOR_MODULES) {
      const source = readFileSync(join(root, `${m}.ts`), 'utf8')
      const out = ts.transpileModule(source, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
      }).outputText
      files.set(servedAs(m), reroot(m, out.replace(/(from\s+['"]\.\.?\/[^'"]+)\.ts(['"])/g, '$1.js$2')))
    }
    return { from: 'typescript', files }
  } catch {
    return { from: 'missing', files: new Map() }
  }
}

// The terminal (xterm.js and its fit addon) from npm, served under vendor/ and loaded by the page
// only when a terminal is opened: they are not part of the first load.
const VENDOR: Array<[served: string, module: string]> = [
  ['vendor/xterm.js', '@xterm/xterm/lib/xterm.js'],
  ['vendor/xterm.css', '@xterm/xterm/css/xterm.css'],
  ['vendor/addon-fit.js', '@xterm/addon-fit/lib/addon-fit.js'],
]

function vendorFiles(root: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>()
  const require = createRequire(join(root, 'package.json'))
  for (const [served, module] of VENDOR) {
    try {
      files.set(served, readFileSync(require.resolve(module)))
    } catch {
      // Not installed (a trimmed install): the terminal says it is unavailable.
    }
  }
  return files
}

export async function loadAssets(root: string = findPackageRoot()): Promise<AssetBundle> {
  const uiDir = resolve(root, 'hub-ui')
  const files = new Map<string, Asset>()
  for (const path of walk(uiDir).sort()) {
    const rel = relative(uiDir, path).split('\\').join('/')
    if (rel.startsWith('.') || rel.endsWith('.md')) continue
    files.set(rel, makeAsset(path, readFileSync(path)))
  }
  const validator = await stackValidatorSources(root)
  for (const [rel, text] of validator.files) files.set(rel, makeAsset(rel, new TextEncoder().encode(text)))
  for (const [rel, body] of vendorFiles(root)) files.set(rel, makeAsset(rel, body))

  const hash = createHash('sha256')
  for (const [rel, asset] of files) hash.update(rel).update(asset.etag)
  const version = hash.digest('hex').slice(0, 12)

  // index.html names its scripts and styles by the version, so they can be cached for good.
  const index = files.get('index.html')
  if (!index) throw new Error(`The dashboard has no index.html in ${uiDir}.`)
  // The fleet page's whole module graph is announced up front, so the browser fetches it in parallel
  // instead of discovering one import level per round trip.
  const preload = [...files.keys()]
    .filter((rel) => rel === 'app.js' || rel === 'views/fleet.js' || /^lib\/[^/]+\.js$/.test(rel))
    .map((rel) => `<link rel="modulepreload" href="/ui/${version}/${rel}">`)
    .join('\n')
  const html = new TextDecoder()
    .decode(index.body)
    .replaceAll('%PRELOAD%', preload)
    .replaceAll('%VERSION%', version)
    .replaceAll('%VALIDATOR%', validator.from)
  files.set('index.html', makeAsset('index.html', new TextEncoder().encode(html)))
  return { version, files, validator: validator.from }
}
