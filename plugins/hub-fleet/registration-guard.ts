// Who may register which node (issue #14): a node id stays bound to the key that registered it (or
// the key that one was rotated to), a hostname names one node per account, and new nodes are limited.
import { ThreshError } from '../../core/index.ts'
import type { AgentInfo } from '../../lib/agent-session/protocol.ts'
import type { FleetStore, NodeRecord } from '../../lib/storage/types.ts'

export interface RegistrationLimits {
  /** New nodes one key may register per second, sustained. */
  ratePerSecond: number
  /** New nodes one key may register at once before the rate applies. */
  burst: number
  /** Nodes one account may have. */
  maxNodesPerAccount: number
}

export interface RegistrationGuard {
  /**
   * Throws 403 when the id is bound to another key (or the key is unknown), 409 when the hostname is
   * another key's node or the account is full, 429 (details.retryAfterSeconds) past the key's rate.
   * `keyId` is undefined only for a mid-tier that does not say which key its agent used.
   */
  admit(accountId: string, keyId: string | undefined, info: AgentInfo): Promise<void>
}

const fail = (status: number, code: string, message: string, details?: unknown) =>
  new ThreshError({ code, status, plugin: 'hub-fleet', message, ...(details ? { details } : {}) })

// Far more hops than anyone rotates one key; a bound on a chain a bad store row could loop.
const MAX_ROTATIONS = 32
const MAX_BUCKETS = 10_000
const COUNT_TTL_MS = 5000

export function createRegistrationGuard(store: FleetStore, limits: RegistrationLimits, now: () => number = Date.now): RegistrationGuard {
  const buckets = new Map<string, { tokens: number; at: number }>()
  const counts = new Map<string, { count: number; at: number }>()

  /** The key a node was bound to, or a key it was rotated to (the same agent, reconfigured). */
  const sameLineage = async (accountId: string, boundKeyId: string, keyId: string) => {
    let current: string | undefined = boundKeyId
    for (let hop = 0; current && hop <= MAX_ROTATIONS; hop++) {
      if (current === keyId) return true
      current = (await store.getKey(accountId, current))?.rotatedTo
    }
    return false
  }

  const mayActAs = async (accountId: string, keyId: string | undefined, node: NodeRecord) => {
    // Nodes recorded before keys were bound (or by a mid-tier that did not say) belong to the next key.
    if (!node.keyId) return true
    return keyId !== undefined && (await sameLineage(accountId, node.keyId, keyId))
  }

  /** Seconds until the key may register another new node; 0 takes one now. */
  const takeToken = (keyId: string): number => {
    const at = now()
    const bucket = buckets.get(keyId) ?? { tokens: limits.burst, at }
    bucket.tokens = Math.min(limits.burst, bucket.tokens + ((at - bucket.at) / 1000) * limits.ratePerSecond)
    bucket.at = at
    buckets.delete(keyId)
    buckets.set(keyId, bucket)
    if (buckets.size > MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limits.ratePerSecond))
  }

  // A count well under the quota is trusted for a few seconds; near it, the store is asked each time.
  const nodeCount = async (accountId: string) => {
    const cached = counts.get(accountId)
    if (cached && now() - cached.at < COUNT_TTL_MS && cached.count < limits.maxNodesPerAccount - 1) return cached.count
    const count = (await store.countNodes(accountId)).total
    counts.set(accountId, { count, at: now() })
    return count
  }

  return {
    async admit(accountId, keyId, info) {
      const agentId = info.agentId
      const existing = await store.getNode(accountId, agentId)
      if (existing && !(await mayActAs(accountId, keyId, existing))) {
        throw fail(
          403,
          'agent_id_taken',
          `Node ${agentId} is registered with another agent key; an agent re-registers with the key it registered with (or the key it was rotated to). To move it to another key, remove the node first (DELETE /api/nodes/${agentId}).`,
        )
      }
      const hostname = typeof info.hostname === 'string' && info.hostname ? info.hostname.slice(0, 200) : agentId
      const named = await store.findNode(accountId, hostname)
      if (named && named.id !== agentId && named.hostname === hostname && !(await mayActAs(accountId, keyId, named))) {
        throw fail(
          409,
          'hostname_taken',
          `Hostname '${hostname}' is already node ${named.id}, registered with another agent key; give this agent another node-name, or remove that node first (DELETE /api/nodes/${named.id}).`,
        )
      }
      if (existing) return
      const wait = takeToken(keyId ?? `account:${accountId}`)
      if (wait > 0) {
        throw fail(429, 'registration_rate', `This agent key registers new nodes too fast (at most ${limits.ratePerSecond} per second); retry in ${wait} s.`, { retryAfterSeconds: wait })
      }
      const count = await nodeCount(accountId)
      if (count >= limits.maxNodesPerAccount) {
        throw fail(409, 'node_quota', `This account has reached its quota of ${limits.maxNodesPerAccount} nodes; remove nodes it no longer needs (DELETE /api/nodes/{id}) before registering new ones.`)
      }
      const cached = counts.get(accountId)
      if (cached) cached.count = count + 1
    },
  }
}
