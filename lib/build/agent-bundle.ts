// Builds the single-file agent: esbuild bundles cli/agent-main with everything it imports into one ES
// module that needs no node_modules (Node >= 20 and Deno), and optionally a Node single executable
// from it. An unplugin plugin does what must be decided at build time:
// - roles/index becomes a virtual module holding only the agent role, its plugin list being the
//   preset (roles/agent) plus the plugins named at build time (`thresh build --plugin`, as xcaddy
//   bakes modules into Caddy), so the hub and mid-tier stay out of the file;
// - the shipped blueprints are inlined (there is no blueprints/ beside a copied file);
// - optional pieces an agent cannot use from one file are replaced by modules that say so when used:
//   jiti (TypeScript at run time; bake TS plugins in instead) and ssh2 (Docker over ssh://, whose
//   native cpu-features would need node_modules);
// - `createRequire(import.meta.url)('x')` (lazy loading that tsc and Deno keep lazy) becomes a plain
//   `require('x')` that esbuild bundles; bundled, it is still evaluated only when first called.
// It builds from the sources beside it: TypeScript in a clone, the compiled JS in an installed package.
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { createUnplugin } from 'unplugin'
import { ThreshError } from '../../core/index.ts'

const here = dirname(fileURLToPath(import.meta.url))
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
/** The directory holding core/, roles/, cli/ (the clone, or dist/ of an installed package). */
const sourceRoot = resolve(here, '../..')
const packageRoot = ext === '.ts' ? sourceRoot : resolve(sourceRoot, '..')
const source = (path: string) => join(sourceRoot, path + ext)

/** The npm name third-party plugins import the core from (`import { definePlugin } from 'thresh-fleet'`). */
const PACKAGE_NAME = 'thresh-fleet'
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

const ROLES = 'virtual:thresh-agent-roles'
const BLUEPRINTS = 'virtual:thresh-shipped-blueprints'
const NO_JITI = 'virtual:thresh-no-jiti'
const NO_SSH2 = 'virtual:thresh-no-ssh2'

export interface AgentBuildOptions {
  /** The ES module to write (default dist/thresh-agent.mjs under the current directory). */
  out: string
  /** Third-party plugin files baked in after the preset's plugins, in order. */
  plugins?: string[]
  /** Also make a Node single executable at this path (Node only). */
  sea?: string
}

export interface AgentBuildResult {
  bundle: string
  bytes: number
  sea?: string
}

const json = (value: unknown) => JSON.stringify(value)

function rolesModule(plugins: string[]): string {
  return [
    `import { ThreshError } from ${json(source('core/index'))}`,
    `import preset from ${json(source('roles/agent'))}`,
    ...plugins.map((file, i) => `import * as baked${i} from ${json(file)}`),
    `const factory = (module, file) => {`,
    `  const exported = module.default ?? module.plugin`,
    `  if (typeof exported === 'function') return exported`,
    `  if (exported && typeof exported === 'object') return () => exported`,
    `  throw new ThreshError({ code: 'plugin_unloadable', plugin: file, message: \`Plugin '\${file}' baked into this agent has no default export of a plugin factory.\` })`,
    `}`,
    `const baked = [${plugins.map((file, i) => `[baked${i}, ${json(basename(file))}]`).join(', ')}].map(([module, file]) => {`,
    `  const make = factory(module, file)`,
    `  return { name: make({}).name, load: async () => make }`,
    `})`,
    `const role = { ...preset, plugins: [...preset.plugins, ...baked] }`,
    `export const roleNames = ['agent']`,
    `export async function loadRole(name) {`,
    `  if (name !== 'agent') throw new ThreshError({ code: 'role_unknown', message: \`This thresh-agent runs only the agent role, not '\${name}'; run other roles with the thresh package.\` })`,
    `  return role`,
    `}`,
  ].join('\n')
}

function blueprintsModule(): string {
  const dir = join(packageRoot, 'blueprints')
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []
  const files = names.map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }))
  return [
    `export { readBlueprintFiles, shippedBlueprintDir } from ${json(source('plugins/agent-commands/shipped-blueprints'))}`,
    `const files = ${json(files)}`,
    `export const shippedBlueprints = async () => files`,
  ].join('\n')
}

const NO_JITI_MODULE = `export function createJiti() {
  throw new Error('this single-file agent loads JavaScript plugins and config files only: bake TypeScript plugins in with thresh build --role agent --plugin FILE, or use a .json config')
}`

const NO_SSH2_MODULE = `export class Client {
  constructor() {
    throw new Error('Docker over ssh:// is not built into the single-file agent: use the local Docker socket or a tcp:// DOCKER_HOST')
  }
}
export default { Client }`

/** The unplugin plugin (used here with esbuild; the same object drives rollup, vite or rolldown). */
export const threshAgentPlugin = createUnplugin((options: { plugins: string[] }) => {
  const replaced = new Map([
    [source('roles/index'), ROLES],
    [source('plugins/agent-commands/shipped-blueprints'), BLUEPRINTS],
  ])
  return {
    name: 'thresh-agent',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('virtual:thresh-')) return id
      if (id === 'jiti') return NO_JITI
      if (id === 'ssh2') return NO_SSH2
      if (id === PACKAGE_NAME || id === `${PACKAGE_NAME}/core`) return source('core/index')
      // The virtual modules import real files by absolute path: esbuild resolves those, as files
      // (returned from here they would land in this plugin's namespace, a second copy of each).
      if (isAbsolute(id)) return null
      if (importer && id.startsWith('.') && !importer.startsWith('virtual:')) return replaced.get(resolve(dirname(importer), id)) ?? null
      return null
    },
    loadInclude: (id) => id.startsWith('virtual:thresh-'),
    load(id) {
      if (id === ROLES) return rolesModule(options.plugins)
      if (id === BLUEPRINTS) return blueprintsModule()
      if (id === NO_JITI) return NO_JITI_MODULE
      if (id === NO_SSH2) return NO_SSH2_MODULE
      return null
    },
    transformInclude: (id) => id.startsWith(sourceRoot) && !id.includes('node_modules'),
    transform(code) {
      if (!code.includes('createRequire(import.meta.url)(')) return null
      return code.replaceAll('createRequire(import.meta.url)(', 'require(')
    },
  }
})

/** Run by Node with the bundle; `require` for the CommonJS packages inside, V8 flags before anything loads. */
const ESM_BANNER = `#!/usr/bin/env node
import { createRequire as __threshCreateRequire } from 'node:module';
import { setFlagsFromString as __threshV8Flags } from 'node:v8';
const require = __threshCreateRequire(import.meta.url);
if (!('Deno' in globalThis)) __threshV8Flags('--no-opt');`

/** A single executable runs CommonJS: import.meta.url is the executable's. */
const CJS_BANNER = `const __threshImportMetaUrl = require('node:url').pathToFileURL(__filename).href;
require('node:v8').setFlagsFromString('--no-opt');`

async function bundle(plugins: string[], outfile: string, format: 'esm' | 'cjs'): Promise<void> {
  const esbuild = await import('esbuild')
  try {
    await esbuild.build({
      entryPoints: [source('cli/agent-main')],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      minify: true,
      keepNames: true,
      legalComments: 'none',
      logLevel: 'silent',
      // Optional native speed-ups of ws, absent is fine (ws checks in a try).
      external: ['bufferutil', 'utf-8-validate'],
      banner: { js: format === 'esm' ? ESM_BANNER : CJS_BANNER },
      define: format === 'cjs' ? { 'import.meta.url': '__threshImportMetaUrl' } : {},
      plugins: [threshAgentPlugin.esbuild({ plugins })],
    })
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? []
    const detail = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join('; ')
    throw new ThreshError({ code: 'build_failed', message: `Cannot build the agent: ${detail || (cause as Error).message}`, cause })
  }
}

/** `thresh-agent-linux-x64` beside the bundle. */
export function defaultSeaPath(bundlePath: string): string {
  return join(dirname(bundlePath), `thresh-agent-${process.platform}-${process.arch}`)
}

/** A Node single executable: this node binary with the CommonJS bundle injected (node --experimental-sea-config + postject). */
async function buildSea(plugins: string[], out: string): Promise<void> {
  if ('Deno' in globalThis) throw new ThreshError({ code: 'build_failed', message: 'A single executable is made from a Node binary: run thresh build on Node for --sea.' })
  const work = join(tmpdir(), `thresh-sea-${process.pid}-${Date.now()}`)
  mkdirSync(work, { recursive: true })
  try {
    const main = join(work, 'agent.cjs')
    const blob = join(work, 'agent.blob')
    await bundle(plugins, main, 'cjs')
    writeFileSync(join(work, 'sea.json'), json({ main, output: blob, disableExperimentalSEAWarning: true }))
    execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea.json')], { stdio: 'pipe' })
    const binary = join(work, 'thresh-agent')
    copyFileSync(process.execPath, binary)
    chmodSync(binary, 0o755)
    const { inject } = (await import('postject' as string)) as { inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string }): Promise<void> }
    await inject(binary, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE })
    mkdirSync(dirname(out), { recursive: true })
    copyFileSync(binary, `${out}.partial`)
    renameSync(`${out}.partial`, out)
  } catch (cause) {
    rmSync(`${out}.partial`, { force: true })
    if (cause instanceof ThreshError) throw cause
    const stderr = String((cause as { stderr?: unknown }).stderr ?? '').trim()
    throw new ThreshError({ code: 'build_failed', message: `Cannot make the single executable: ${stderr || (cause as Error).message}`, cause })
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

export async function buildAgent(options: AgentBuildOptions): Promise<AgentBuildResult> {
  const plugins = (options.plugins ?? []).map((file) => resolve(file))
  for (const file of plugins) {
    if (!existsSync(file)) throw new ThreshError({ code: 'plugin_unloadable', plugin: file, message: `Plugin file ${file} does not exist.` })
  }
  const out = resolve(options.out)
  mkdirSync(dirname(out), { recursive: true })
  // Written beside and renamed over: a hub serving the file never hands out half of it.
  const partial = `${out}.${process.pid}.partial`
  try {
    await bundle(plugins, partial, 'esm')
    chmodSync(partial, 0o755)
    renameSync(partial, out)
  } finally {
    rmSync(partial, { force: true })
  }
  const result: AgentBuildResult = { bundle: out, bytes: statSync(out).size }
  if (options.sea) {
    const sea = resolve(options.sea)
    await buildSea(plugins, sea)
    result.sea = sea
  }
  return result
}
