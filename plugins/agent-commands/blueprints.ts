// Blueprints: named stack templates shipped with thresh (`blueprints/`) and read from
// THRESH_HOME/blueprints/; a user's blueprint replaces a shipped one of the same name.
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ThreshError } from '../../core/index.ts'
import { isObject } from './stack-arguments.ts'

export interface Blueprint {
  name: string
  description: string
  source: 'builtin' | 'user'
  services: string[]
  definition: Record<string, unknown>
}

/** `blueprints/` at the package root, from source (plugins/x/) and from dist (dist/plugins/x/). */
export function shippedBlueprintDir(): string | undefined {
  for (const relative of ['../../blueprints/', '../../../blueprints/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(dir)) return dir
  }
  return undefined
}

async function readDir(dir: string | undefined, source: Blueprint['source']): Promise<Blueprint[]> {
  if (!dir) return []
  let files: string[]
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()
  } catch {
    return []
  }
  const out: Blueprint[] = []
  for (const file of files) {
    try {
      const definition = JSON.parse(await readFile(join(dir, file), 'utf8')) as unknown
      if (!isObject(definition)) continue
      const name = typeof definition.name === 'string' && definition.name ? definition.name : basename(file, '.json')
      const services = Array.isArray(definition.services)
        ? definition.services.map((s) => (isObject(s) ? String(s.name) : '?'))
        : isObject(definition.services)
          ? Object.keys(definition.services)
          : []
      out.push({ name, description: typeof definition.description === 'string' ? definition.description : '', source, services, definition })
    } catch {
      // A broken file is skipped here and named when someone asks for it by name.
    }
  }
  return out
}

export async function listBlueprints(dataDir: string, shippedDir = shippedBlueprintDir()): Promise<Blueprint[]> {
  const byName = new Map<string, Blueprint>()
  for (const blueprint of [...(await readDir(shippedDir, 'builtin')), ...(await readDir(join(dataDir, 'blueprints'), 'user'))]) {
    byName.set(blueprint.name, blueprint)
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
}

export async function findBlueprint(dataDir: string, name: string): Promise<Blueprint> {
  const all = await listBlueprints(dataDir)
  const found = all.find((b) => b.name === name)
  if (!found) {
    throw new ThreshError({
      code: 'blueprint_unknown',
      plugin: 'agent-commands',
      message: `Unknown blueprint '${name}'; this node has: ${all.map((b) => b.name).join(', ') || 'none'}.`,
    })
  }
  return found
}
