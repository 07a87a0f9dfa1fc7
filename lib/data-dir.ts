// THRESH_HOME holds keys, certificates and the embedded database: readable by its owner only. Made so
// on every start, including a home an older thresh left group- and world-readable.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'

/** Creates the data dir 0700, tightens what is already in it, and makes files created later owner-only. */
export function secureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // Files the embedded database and plugins create from now on (PGlite writes 0666 less the umask).
  process.umask(0o077)
  restrictToOwner(dir)
}

/** Takes group and other permissions off `path` and everything under it. */
export function restrictToOwner(path: string): void {
  const stat = lstatSync(path)
  if (stat.isSymbolicLink()) return
  if ((stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700)
  if (stat.isDirectory()) for (const entry of readdirSync(path)) if (entry !== STACK_FILES_DIR) restrictToOwner(join(path, entry))
}

/**
 * Where an agent keeps its stacks' secrets and configs, under the data dir. The directory is 0700; its
 * files keep the modes the stacks ask for (0444 by default), as containers running as other users read them.
 */
export const STACK_FILES_DIR = 'stack-files'
