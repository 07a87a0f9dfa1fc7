// Blueprints: named stack templates shipped with thresh (`blueprints/`) and read from
// THRESH_HOME/blueprints/; a user's blueprint replaces a shipped one of the same name.
import { basename, join } from 'node:path'
import { ThreshError } from '../../core/index.ts'
import { isObject } from './stack-arguments.ts'
import { readBlueprintFiles, shippedBlueprints, type BlueprintFile } from './shipped-blueprints.ts'

export interface Blueprint {
  name: string
  description: string
  source: 'builtin' | 'user'
  services: string[]
  definition: Record<string, unknown>
}

function parse(files: BlueprintFile[], source: Blueprint['source']): Blueprint[] {
  const out: Blueprint[] = []
  for (const { file, text } of files) {
    try {
      const definition = JSON.parse(text) as unknown
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

export async function listBlueprints(dataDir: string): Promise<Blueprint[]> {
  const byName = new Map<string, Blueprint>()
  for (const blueprint of [...parse(await shippedBlueprints(), 'builtin'), ...parse(await readBlueprintFiles(join(dataDir, 'blueprints')), 'user')]) {
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
