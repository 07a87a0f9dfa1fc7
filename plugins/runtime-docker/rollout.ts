// What one deploy changed on the node, so that a failed deploy can put everything back exactly as it was
// (old containers kept under a side name until the deploy succeeds) and a successful one can let go of them.
import type Docker from 'dockerode'
import { statusCode } from './docker-errors.ts'
import type { Containers } from './containers.ts'

export { asideName } from '../../lib/docker/aside.ts'

/** An old container set aside while its replacement starts. */
export interface SetAside {
  service: string
  id: string
  /** Its own name, restored on rollback. */
  name: string
  wasRunning: boolean
}

export interface Journal {
  /** Containers this deploy created. */
  created: string[]
  /** Old containers renamed out of the way (and maybe stopped); removed when the deploy succeeds. */
  setAside: SetAside[]
  /** Existing containers this deploy started that were stopped before. */
  started: string[]
  /** Volumes and the network this deploy created. */
  volumes: string[]
  network?: string
  /** The stack's extra networks (compose `networks:`) this deploy created. */
  networks?: string[]
}

export const newJournal = (): Journal => ({ created: [], setAside: [], started: [], volumes: [] })

export function createRollout(docker: Docker, containers: Containers) {
  const ignore404 = (error: unknown) => {
    if (statusCode(error) !== 404) throw error
  }
  return {
    /** Undoes everything the journal records; the stack is as it was before the deploy. */
    async rollback(journal: Journal): Promise<void> {
      await Promise.all(journal.created.map((id) => containers.removeQuietly(id)))
      await Promise.all(journal.started.map((id) => containers.stopQuietly(id)))
      await Promise.all(
        journal.setAside.map(async (old) => {
          const c = docker.getContainer(old.id)
          await c.rename({ name: old.name }).catch(ignore404)
          if (old.wasRunning) {
            await c.start().catch((error) => {
              if (statusCode(error) !== 304) throw error
            })
          }
        }),
      )
      for (const v of journal.volumes) await docker.getVolume(v).remove().catch(ignore404)
      for (const n of journal.networks ?? []) await docker.getNetwork(n).remove().catch(ignore404)
      if (journal.network) await docker.getNetwork(journal.network).remove().catch(ignore404)
    },

    /** The deploy stands: the old containers go. */
    async commit(journal: Journal): Promise<void> {
      await Promise.all(journal.setAside.map((old) => containers.removeQuietly(old.id)))
    },
  }
}
