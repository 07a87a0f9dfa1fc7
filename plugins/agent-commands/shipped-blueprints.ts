// The blueprints shipped with thresh, read from `blueprints/` at the package root. The single-file
// agent's build (lib/build/agent-bundle.ts) replaces this module with one that carries them inline.
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface BlueprintFile {
  file: string
  text: string
}

/** `blueprints/` at the package root, from source (plugins/x/) and from dist (dist/plugins/x/). */
export function shippedBlueprintDir(): string | undefined {
  for (const relative of ['../../blueprints/', '../../../blueprints/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(dir)) return dir
  }
  return undefined
}

/** The `.json` files of a directory, by name; none when it is missing. */
export async function readBlueprintFiles(dir: string | undefined): Promise<BlueprintFile[]> {
  if (!dir) return []
  let files: string[]
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()
  } catch {
    return []
  }
  const out: BlueprintFile[] = []
  for (const file of files) {
    try {
      out.push({ file, text: await readFile(join(dir, file), 'utf8') })
    } catch {
      // An unreadable file is skipped here and named when someone asks for it by name.
    }
  }
  return out
}

export const shippedBlueprints = (): Promise<BlueprintFile[]> => readBlueprintFiles(shippedBlueprintDir())
