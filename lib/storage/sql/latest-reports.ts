// Nodes' latest sample and lastSeenAt, coalesced per node and written back in one statement: updating
// every node row per metrics batch cost ~4x the sample insert itself. They go to `node_reports`, a narrow
// row per node whose one index never changes; a node's own row is written only when it comes back online.
// Each node is found through the primary key (a lateral probe the planner cannot turn into a scan of the
// whole table), so a report costs the same in a fleet of 1,000 or 40,000. Single-node reads do not wait for
// that write: they lay what is queued or being written over the row they read (`overlay`), so a command's
// node lookup costs one indexed select whatever the fleet's write-back is doing.
import { arrayLiteral } from '../sql-executor.ts'
import type { MetricsSampleInput } from '../types.ts'
import { writeIsolatingBadRows } from './bad-rows.ts'
import type { SqlContext } from './context.ts'

interface Latest {
  accountId: string
  agentId: string
  at: number
  seenAt: string
  snapshot: string
}

export interface LatestReports {
  /** Queues each node's newest sample of a batch (by agent id); an older one never replaces a newer. */
  queue(accountId: string, newest: Map<string, { at: number; sample: MetricsSampleInput }>): void
  /** Writes queued samples to their nodes; node writes and list reads await it, so callers never see stale rows. */
  flush(): Promise<void>
  /** The row as the write-back will leave it: a queued or in-flight newer report wins, as it will in the database. */
  overlay<N extends { accountId: string; id: string; status: string; lastSeenAt: string; lastMetrics?: Record<string, unknown> }>(node: N): N
  stop(): void
}

const newer = (a: Latest | undefined, b: Latest | undefined) => (!a ? b : !b ? a : a.at >= b.at ? a : b)

export function createLatestReports({ q, clock, warn }: SqlContext, flushMs: number): LatestReports {
  let pendingLatest = new Map<string, Latest>()
  // The batch being written now; reads overlay it until the write has settled.
  let writing = new Map<string, Latest>()
  let flushing: Promise<void> = Promise.resolve()
  const write = async (batch: Latest[]) => {
    await q(
      `with l as (
         select * from unnest($1::text::text[], $2::text::text[], $3::text::timestamptz[], $4::text::timestamptz[], $5::text::jsonb[])
           as l(account_id, agent_id, at, seen_at, snapshot)
       ),
       k as (
         select n.key, n.status, l.at, l.seen_at, l.snapshot from l
         cross join lateral (select key, status from nodes where account_id = l.account_id and id = l.agent_id limit 1) n
       ),
       reports as (
         insert into node_reports as r (node_key, seen_at, at, report) select key, seen_at, at, snapshot from k
         on conflict (node_key) do update set seen_at = greatest(r.seen_at, excluded.seen_at),
           report = case when r.at <= excluded.at then excluded.report else r.report end, at = greatest(r.at, excluded.at)
       )
       update nodes set status = 'online' where key = any(array(select key from k where status <> 'online'))`,
      [
        arrayLiteral(batch.map((l) => l.accountId)),
        arrayLiteral(batch.map((l) => l.agentId)),
        arrayLiteral(batch.map((l) => new Date(l.at).toISOString())),
        arrayLiteral(batch.map((l) => l.seenAt)),
        arrayLiteral(batch.map((l) => l.snapshot)),
      ],
    )
    return batch.length
  }
  // The batch is every account's: a row the database refuses is dropped, never retried with the others.
  const dropped = (l: Latest, error: unknown) =>
    warn(`Dropped the latest report of node ${JSON.stringify(l.agentId)} (account ${l.accountId}): the database refused it (${(error as Error).message}).`)
  function flushLatest(): Promise<void> {
    const next = flushing.then(async () => {
      if (pendingLatest.size === 0) return
      const batch = [...pendingLatest.values()]
      writing = pendingLatest
      pendingLatest = new Map()
      try {
        await writeIsolatingBadRows(batch, write, dropped)
        writing = new Map()
      } catch (error) {
        writing = new Map()
        for (const l of batch) {
          const key = `${l.accountId}\u0000${l.agentId}`
          if (!pendingLatest.has(key)) pendingLatest.set(key, l)
        }
        throw error
      }
    })
    flushing = next.catch(() => {})
    return next
  }
  const flushTimer = setInterval(() => void flushLatest().catch(() => {}), flushMs)
  ;(flushTimer as { unref?: () => void }).unref?.()

  return {
    queue(accountId, newest) {
      const seenAt = clock().toISOString()
      for (const [agentId, { at, sample }] of newest) {
        const key = `${accountId}\u0000${agentId}`
        const queued = pendingLatest.get(key)
        if (queued && queued.at > at) continue
        pendingLatest.set(key, { accountId, agentId, at, seenAt, snapshot: JSON.stringify({ ...sample, timestamp: new Date(at).toISOString() }) })
      }
    },
    flush: flushLatest,
    overlay(node) {
      const key = `${node.accountId}\u0000${node.id}`
      const l = newer(pendingLatest.get(key), writing.get(key))
      if (!l) return node
      const stored = Date.parse(String(node.lastMetrics?.timestamp ?? ''))
      const seenAt = Date.parse(node.lastSeenAt) >= Date.parse(l.seenAt) ? node.lastSeenAt : l.seenAt
      const lastMetrics = Number.isFinite(stored) && stored > l.at ? node.lastMetrics : (JSON.parse(l.snapshot) as Record<string, unknown>)
      return { ...node, status: 'online', lastSeenAt: seenAt, lastMetrics }
    },
    stop: () => clearInterval(flushTimer),
  }
}
