// Nodes other hub processes hold, as they announced them: a hub that takes a node's lease (its agent
// registered there) tells every hub on the same PostgreSQL, with the node's record, and tells again
// when it lets go. A command for a node another hub holds then needs no lookup before it crosses.
// Announcements are best effort (docs/hubs.md): a hub that missed some (its listening connection
// dropped) starts over empty, and a node it does not know is read from the store as before.
import type { Logger } from '../../core/index.ts'
import type { StoreNotifications } from '../../lib/storage/notifications.ts'
import type { NodeRecord } from '../../lib/storage/types.ts'

const CHANNEL = 'node-leases'

/** `left`: the sender no longer holds the node; `changed`: the node changed (removed, moved to a cluster). */
type Announcement = { k: 'held'; node: NodeRecord } | { k: 'left' | 'changed'; accountId: string; id: string }

interface Message {
  hub: string
  leases: Announcement[]
}

export interface LeaseMap {
  /** The node's record as its holder announced it, when a hub other than this one holds it. */
  get(accountId: string, nodeId: string): NodeRecord | undefined
  /** Keeps a record read from the store (held by another hub) until its holder says otherwise. */
  remember(node: NodeRecord): void
  /** This hub took the node's lease. */
  held(node: NodeRecord): void
  /** The node's lease ended here: other hubs forget it, unless another hub announced it since. */
  left(accountId: string, nodeId: string): void
  /** The node changed (removed, put in a cluster): every hub forgets what it knew of it. */
  changed(accountId: string, nodeId: string): void
  /** Hubs that stopped: the nodes they held are no longer known to be anywhere. */
  hubsStopped(hubIds: string[]): void
  close(): Promise<void>
}

const keyOf = (accountId: string, nodeId: string) => `${accountId}/${nodeId}`

/** A map that knows nothing: for stores one hub process holds alone. */
export const noLeases: LeaseMap = { get: () => undefined, remember() {}, held() {}, left() {}, changed() {}, hubsStopped() {}, close: async () => {} }

export async function startLeaseMap(options: {
  notifications: StoreNotifications
  hubId: string
  /**
   * Whether another hub is alive now. A hub alone announces nothing until another hub says hello (each
   * says it when it starts), so a single hub on PostgreSQL pays nothing for this.
   */
  hasPeers(): boolean
  logger: Pick<Logger, 'warn'>
  /** Longest an announcement waits to go out with others (default 20 ms): a reconnect storm sends few. */
  batchMs?: number
  /** Most nodes kept (default 200,000); past it the map starts over and refills from announcements and reads. */
  maxNodes?: number
}): Promise<LeaseMap> {
  const { notifications, hubId, logger } = options
  if (!notifications.shared) return noLeases
  const batchMs = options.batchMs ?? 20
  const maxNodes = options.maxNodes ?? 200_000
  const nodes = new Map<string, NodeRecord>()
  let outgoing: Announcement[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  let peerHeard = false
  const peers = () => peerHeard || options.hasPeers()

  const keep = (node: NodeRecord) => {
    if (nodes.size >= maxNodes) nodes.clear()
    nodes.set(keyOf(node.accountId, node.id), node)
  }

  const flush = () => {
    timer = undefined
    const leases = outgoing
    outgoing = []
    if (closed || leases.length === 0) return
    notifications.publish(CHANNEL, JSON.stringify({ hub: hubId, leases } satisfies Message)).catch((error) => logger.warn(`Announcing node leases to the other hubs failed: ${(error as Error).message}`))
  }
  const announce = (announcement: Announcement) => {
    outgoing.push(announcement)
    timer ??= setTimeout(flush, batchMs)
  }

  const heard = (payload: string) => {
    let message: Message
    try {
      message = JSON.parse(payload) as Message
    } catch {
      return
    }
    if (!message || message.hub === hubId || !Array.isArray(message.leases)) return
    peerHeard = true
    for (const lease of message.leases) {
      if (lease?.k === 'held' && lease.node && typeof lease.node.id === 'string' && typeof lease.node.accountId === 'string') keep({ ...lease.node, heldBy: message.hub })
      else if ((lease?.k === 'left' || lease?.k === 'changed') && typeof lease.accountId === 'string' && typeof lease.id === 'string') {
        const key = keyOf(lease.accountId, lease.id)
        if (lease.k === 'changed' || nodes.get(key)?.heldBy === message.hub) nodes.delete(key)
      }
    }
  }

  let listened = false
  const unlisten = await notifications.listen(CHANNEL, heard, {
    // Back after a dropped connection: what was announced meanwhile is lost, so nothing here is trusted.
    onReady: () => {
      if (listened) nodes.clear()
      listened = true
    },
  })
  // Hello (no leases): the hubs already running start announcing theirs.
  await notifications.publish(CHANNEL, JSON.stringify({ hub: hubId, leases: [] } satisfies Message))

  return {
    get: (accountId, nodeId) => nodes.get(keyOf(accountId, nodeId)),
    remember(node) {
      if (node.heldBy && node.heldBy !== hubId) keep(node)
    },
    held(node) {
      nodes.delete(keyOf(node.accountId, node.id))
      // What a command needs of the node; the agent's full report and latest sample stay out.
      const { lastMetrics: _, info: __, ...record } = node
      if (peers()) announce({ k: 'held', node: record })
    },
    left(accountId, nodeId) {
      if (peers()) announce({ k: 'left', accountId, id: nodeId })
    },
    changed(accountId, nodeId) {
      nodes.delete(keyOf(accountId, nodeId))
      if (peers()) announce({ k: 'changed', accountId, id: nodeId })
    },
    hubsStopped(hubIds) {
      if (hubIds.length === 0) return
      const stopped = new Set(hubIds)
      for (const [key, node] of nodes) if (stopped.has(node.heldBy!)) nodes.delete(key)
    },
    async close() {
      closed = true
      clearTimeout(timer)
      await unlisten()
    },
  }
}
