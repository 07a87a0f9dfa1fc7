// One process per embedded database: PGlite does not guard its directory, and two hubs writing one
// would corrupt it. A `<path>.lock` file holds the owner's pid; a lock whose process is gone is taken over.
import process from 'node:process'
import { ThreshError } from '../../core/index.ts'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'
  }
}

/** Takes the lock or throws `storage_locked`; returns the release function. */
export async function lockDataDir(path: string, plugin: string): Promise<() => Promise<void>> {
  const { open, readFile, rm } = await import('node:fs/promises')
  const file = `${path}.lock`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return async () => {
        await rm(file, { force: true })
      }
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error
      const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new ThreshError({
          code: 'storage_locked',
          status: 503,
          plugin,
          message: `The embedded database at ${path} is in use by another thresh process (pid ${owner}): the embedded store serves one hub process only. Stop that process or use another THRESH_HOME; to run several hubs, move to PostgreSQL (thresh storage migrate --to postgres://…).`,
        })
      }
      if (owner === process.pid) {
        throw new ThreshError({ code: 'storage_locked', status: 503, plugin, message: `The embedded database at ${path} is already open in this process.` })
      }
      await rm(file, { force: true })
    }
  }
  throw new ThreshError({ code: 'storage_locked', status: 503, plugin, message: `Could not lock the embedded database at ${path}.` })
}
