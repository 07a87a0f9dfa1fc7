// This hub process among the others on one PostgreSQL: it heartbeats its row (its node leases are
// valid while the heartbeat is fresh), keeps the set of live hubs from the same statement, and hears
// the messages other hubs send it (LISTEN). Single-hub stores have no presence.
import { hostname } from 'node:os'
import { newId } from '../../lib/ids.ts'
import type { HubMesh } from '../../lib/storage/types.ts'

export interface HubPresence {
  readonly hubId: string
  /** Whether the hub's heartbeat was fresh at the last look. */
  alive(hubId: string): boolean
  /** Whether any other hub's heartbeat was fresh at the last look. */
  hasPeers(): boolean
  /** Like `alive`, but looks again first when the hub is unknown (it may have started since). */
  check(hubId: string): Promise<boolean>
  /** A hub's name for messages: host and pid. */
  label(hubId: string): string
  start(): Promise<void>
  stop(): Promise<void>
}

export function createHubPresence(options: {
  mesh: HubMesh
  /** A hub whose heartbeat is older than this is dead, and the leases it holds expired. */
  ttlMs: number
  onMessage(message: string): void
  /** Listening is back after the connection dropped: messages sent meanwhile were lost. */
  onRelisten(): void
  /** After every heartbeat, with the hubs that stopped since the previous one. */
  onBeat(stopped: string[]): void
  logger: { warn(message: string): void }
}): HubPresence {
  const { mesh, ttlMs } = options
  const hubId = newId()
  const ownLabel = `${hostname()} pid ${(globalThis as { process?: { pid: number } }).process?.pid ?? '?'}`
  let live = new Map<string, string>([[hubId, ownLabel]])
  const labels = new Map<string, string>([[hubId, ownLabel]])
  let unlisten: (() => Promise<void>) | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let beating: Promise<void> | undefined
  let lastBeat = 0

  const beat = () =>
    (beating ??= (async () => {
      try {
        const next = await mesh.heartbeat(hubId, ownLabel, ttlMs)
        // This hub is alive while it beats. (On the first beat the statement that inserts its row cannot
        // see that row, and its own nodes read "reconnecting" until the next beat without this.)
        next.set(hubId, ownLabel)
        lastBeat = Date.now()
        const stopped = [...live.keys()].filter((id) => !next.has(id))
        for (const [id, label] of next) labels.set(id, label)
        live = next
        options.onBeat(stopped)
      } finally {
        beating = undefined
      }
    })())

  return {
    hubId,
    alive: (id) => live.has(id),
    hasPeers: () => [...live.keys()].some((id) => id !== hubId),
    async check(id) {
      if (live.has(id)) return true
      if (Date.now() - lastBeat > 250) await beat().catch(() => {})
      return live.has(id)
    },
    label: (id) => `${labels.get(id) ?? 'unknown'} (${id.slice(0, 8)})`,
    async start() {
      // Listening before the first heartbeat: no other hub sends here before it sees this one alive.
      let listened = false
      unlisten = await mesh.listen(hubId, options.onMessage, () => {
        // The first time is the start itself, with nothing missed yet.
        if (listened) options.onRelisten()
        listened = true
      })
      await beat()
      timer = setInterval(() => void beat().catch((e) => options.logger.warn(`The hub heartbeat failed: ${(e as Error).message}`)), Math.max(100, Math.floor(ttlMs / 3)))
      ;(timer as { unref?: () => void }).unref?.()
    },
    async stop() {
      clearInterval(timer)
      await beating?.catch(() => {})
      await unlisten?.().catch(() => {})
      await mesh.leave(hubId).catch(() => {})
    },
  }
}
