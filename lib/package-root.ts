// The repository (or installed package) root, found from a module's own directory by a file the
// root holds: works from source (plugins/x/) and from the compiled dist/plugins/x/.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

export function findPackageRoot(from: string, marker: string): string {
  let dir = from
  for (;;) {
    if (existsSync(join(dir, marker))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`Cannot find ${marker} above ${from}.`)
    dir = parent
  }
}
