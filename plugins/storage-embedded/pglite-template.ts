// A fresh PGlite database costs an initdb in WASM (3-4 s idle, 15 s+ on a busy 2-core machine);
// unpacking a pristine initdb'd directory takes a quarter of that. The first start of a PGlite
// version saves one such directory to the temp dir; later fresh databases start from it. The file is
// named per user and PGlite version and used only if this user owns it and nobody else can write it.
import process from 'node:process'

type PGliteClass = typeof import('@electric-sql/pglite').PGlite
type PGlite = import('@electric-sql/pglite').PGlite

async function templatePath(): Promise<string | undefined> {
  try {
    const { readFile } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { fileURLToPath } = await import('node:url')
    const entry = import.meta.resolve('@electric-sql/pglite')
    if (!entry.startsWith('file:')) return undefined
    const pkg = JSON.parse(await readFile(new URL('../package.json', entry), 'utf8')) as { version?: string }
    if (!pkg.version || !fileURLToPath(entry)) return undefined
    return join(tmpdir(), `thresh-pglite-template-${process.getuid?.() ?? 'u'}-${pkg.version}.tar.gz`)
  } catch {
    return undefined
  }
}

async function isFresh(dataDir: string): Promise<boolean> {
  const { readdir } = await import('node:fs/promises')
  const entries = await readdir(dataDir).catch(() => [])
  return entries.length === 0
}

/**
 * PostgreSQL's 128 MB default shared_buffers is most of an embedded hub's memory, and a homelab hub's
 * working set is a few MB; a fleet big enough to want more belongs on `storage: postgres`.
 */
const postgresqlconf = ['shared_buffers=16MB', 'wal_buffers=1MB']

/** Opens (or creates) the PGlite database in `dataDir`, from the cached template when it is new. */
export async function openPglite(PGlite: PGliteClass, dataDir: string): Promise<PGlite> {
  if (dataDir.startsWith('memory://') || !(await isFresh(dataDir))) return PGlite.create({ dataDir, postgresqlconf })
  const path = await templatePath()
  if (!path) return PGlite.create({ dataDir, postgresqlconf })
  const { readFile, rename, stat, writeFile } = await import('node:fs/promises')
  const info = await stat(path).catch(() => undefined)
  const trusted = info?.isFile() && (process.getuid === undefined || info.uid === process.getuid()) && (info.mode & 0o022) === 0
  if (trusted) {
    try {
      return await PGlite.create({ dataDir, postgresqlconf, loadDataDir: new Blob([await readFile(path)]) })
    } catch {
      // A damaged template: start from scratch below and replace it.
    }
  }
  const db = await PGlite.create({ dataDir, postgresqlconf })
  try {
    const dump = await db.dumpDataDir('gzip')
    const partial = `${path}.${process.pid}.partial`
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()), { mode: 0o600 })
    await rename(partial, path)
  } catch {
    // Only an optimisation: a read-only temp dir just means the next fresh start pays initdb again.
  }
  return db
}
