// What the mid-tier owes the hub, in the order it happened: registrations, metric samples, command
// results, status updates, container events and departures. Bounded in samples (the oldest sample goes first, counted);
// ordered so an agent is registered before its samples and its samples arrive before its departure.
import type { AgentEvent, AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from '../../lib/agent-session/protocol.ts'
import type { Journal, JournalLine } from './journal.ts'

export type RelayOp =
  | { kind: 'register'; agentId: string; info: AgentInfo; keyId?: string }
  | { kind: 'metrics'; agentId: string; sample: MetricsData }
  | { kind: 'result'; agentId: string; result: CommandResult }
  | { kind: 'status'; agentId: string; update: StackServiceStatusUpdate }
  | { kind: 'events'; agentId: string; events: AgentEvent[] }
  | { kind: 'gone'; agentId: string }

export interface OutboxEntry {
  seq: number
  /** null once dropped to make room. */
  op: RelayOp | null
}

export interface OutboxRun {
  kind: RelayOp['kind']
  ops: RelayOp[]
  lastSeq: number
}

export interface OutboxOptions {
  /** Most samples held; beyond it the oldest is dropped. */
  maxSamples: number
  journal?: Journal
  onDrop?: (count: number) => void
  /** Whether an agent is connected now; a departed agent's info is forgotten once nothing waits for it. */
  isConnected?: (agentId: string) => boolean
}

export interface Outbox {
  push(op: RelayOp): void
  /**
   * The next run of like ops to send, after the runs already handed out and not yet acknowledged (so
   * several can be in flight): up to `maxSamples` samples or registrations, else one op. With
   * `onlyFull`, a run of samples shorter than `maxSamples` stays where it is.
   */
  next(maxSamples: number, onlyFull?: boolean): OutboxRun | undefined
  /** The kind of the run `next` would hand out. */
  peek(): RelayOp['kind'] | undefined
  /** Everything up to `seq` reached the hub (or was refused for good); acks come in order. */
  ack(seq: number): void
  /** Runs handed out but not acknowledged are handed out again (their sends failed or were cut off). */
  rewind(): void
  /** Agents with ops still waiting, with their last known info. */
  pendingAgents(): Map<string, { info: AgentInfo; keyId?: string }>
  remember(agentId: string, info: AgentInfo, keyId?: string): void
  /** Resolves once what was pushed so far is on disk (undefined: it already is, or there is no journal). */
  durable(): Promise<void> | undefined
  infoOf(agentId: string): { info: AgentInfo; keyId?: string } | undefined
  readonly samples: number
  /** Samples not handed out yet (those in flight excluded). */
  readonly unsent: number
  readonly controls: number
  readonly size: number
}

const SWEEP_MS = 10_000

/** Rebuilds an outbox from a journal, continuing its sequence; returns the agents it mentions. */
export function createOutbox(options: OutboxOptions): { outbox: Outbox; replayedAgents: string[] } {
  const { journal } = options
  let entries: OutboxEntry[] = []
  let head = 0
  let inflightUntil = -1
  // Index of the first entry not yet handed out by next().
  let cursor = 0
  // Samples in runs handed out and not yet acknowledged.
  let handed = 0
  let dropCursor = 0
  let samples = 0
  let controls = 0
  let live = 0
  let nextSeq = 0
  const refs = new Map<string, number>()
  const known = new Map<string, { info: AgentInfo; keyId?: string }>()
  const infoWritten = new Set<string>()

  // Agents whose last owed op was just acknowledged: their info may be forgotten.
  const released = new Set<string>()
  let sweptAt = Date.now()

  const count = (op: RelayOp, by: 1 | -1) => {
    live += by
    if (op.kind === 'metrics') samples += by
    else controls += by
    const n = (refs.get(op.agentId) ?? 0) + by
    if (n > 0) refs.set(op.agentId, n)
    else {
      refs.delete(op.agentId)
      released.add(op.agentId)
    }
  }

  const forget = (agentId: string) => {
    if (!refs.has(agentId) && !options.isConnected?.(agentId)) known.delete(agentId)
  }

  /** The agent's info line, if the journal does not hold it yet (replay needs it to register the agent). */
  const infoLine = (agentId: string): JournalLine | undefined => {
    if (!journal || infoWritten.has(agentId)) return undefined
    const k = known.get(agentId)
    if (!k) return undefined
    infoWritten.add(agentId)
    return { k: { agentId, info: k.info, ...(k.keyId ? { keyId: k.keyId } : {}) } }
  }

  /** Rewrites the journal as the agents' infos followed by what is still owed. */
  const rewriteJournal = (j: Journal) => {
    const lines: JournalLine[] = []
    infoWritten.clear()
    for (const agentId of refs.keys()) {
      const k = known.get(agentId)
      if (!k) continue
      lines.push({ k: { agentId, info: k.info, ...(k.keyId ? { keyId: k.keyId } : {}) } })
      infoWritten.add(agentId)
    }
    for (let i = head; i < entries.length; i++) if (entries[i]!.op) lines.push({ s: entries[i]!.seq, op: entries[i]!.op })
    j.rewrite(lines)
  }

  const compact = () => {
    if (journal && journal.written >= 4 * live + 10_000) rewriteJournal(journal)
  }

  const dropOldestSample = () => {
    for (let i = Math.max(dropCursor, head, inflightUntil + 1); i < entries.length; i++) {
      const entry = entries[i]!
      if (entry.op?.kind !== 'metrics') continue
      count(entry.op, -1)
      entry.op = null
      dropCursor = i + 1
      journal?.append({ d: entry.seq })
      return true
    }
    return false
  }

  const outbox: Outbox = {
    push(op) {
      const entry: OutboxEntry = { seq: nextSeq++, op }
      if (op.kind === 'register') {
        // Not journaled: after a crash every agent connects and registers again, and one that is owed
        // samples is registered from its info line, which goes out with its next op. A reconnecting
        // fleet saves a file write per agent.
        known.set(op.agentId, { info: op.info, ...(op.keyId ? { keyId: op.keyId } : {}) })
        infoWritten.delete(op.agentId)
      } else {
        const info = infoLine(op.agentId)
        if (info) journal?.append(info, { s: entry.seq, op })
        else journal?.append({ s: entry.seq, op })
      }
      entries.push(entry)
      count(op, 1)
      if (op.kind === 'metrics' && samples > options.maxSamples) {
        let dropped = 0
        while (samples > options.maxSamples && dropOldestSample()) dropped++
        if (dropped > 0) options.onDrop?.(dropped)
      }
    },
    peek() {
      let i = Math.max(head, cursor)
      while (i < entries.length && !entries[i]!.op) i++
      return entries[i]?.op?.kind
    },
    rewind() {
      cursor = head
      inflightUntil = -1
      handed = 0
    },
    next(maxSamples, onlyFull = false) {
      let i = Math.max(head, cursor)
      while (i < entries.length && !entries[i]!.op) i++
      if (i >= entries.length) return undefined
      const first = entries[i]!.op!
      const ops: RelayOp[] = [first]
      let last = i
      if (first.kind === 'metrics' || first.kind === 'register') {
        for (i++; i < entries.length && ops.length < maxSamples; i++) {
          const op = entries[i]!.op
          if (!op) continue
          if (op.kind !== first.kind) break
          ops.push(op)
          last = i
        }
      }
      if (onlyFull && first.kind === 'metrics' && ops.length < maxSamples) return undefined
      // Samples on their way to the hub are not dropped to make room.
      inflightUntil = Math.max(inflightUntil, last)
      cursor = last + 1
      if (first.kind === 'metrics') handed += ops.length
      return { kind: first.kind, ops, lastSeq: entries[last]!.seq }
    },
    ack(seq) {
      while (head < entries.length && entries[head]!.seq <= seq) {
        const op = entries[head]!.op
        if (op) {
          count(op, -1)
          if (op.kind === 'metrics' && head < cursor && handed > 0) handed--
        }
        head++
      }
      if (head >= cursor) {
        cursor = head
        inflightUntil = -1
      }
      if (journal && live === 0) {
        // Nothing is owed: the journal starts afresh, one truncate instead of an ack line (a rewrite
        // here cost every command result an open, write, rename and close).
        journal.clear()
        infoWritten.clear()
      } else journal?.append({ a: seq })
      if (head > 1024 && head * 2 > entries.length) {
        entries = entries.slice(head)
        dropCursor = Math.max(0, dropCursor - head)
        cursor -= head
        inflightUntil = Math.max(-1, inflightUntil - head)
        head = 0
      }
      // Only the agents this ack released: a walk over every known agent on each ack made each
      // command result cost O(agents) (0.5 ms at 10,000). A full walk now and then catches the rest.
      if (Date.now() - sweptAt > SWEEP_MS) {
        sweptAt = Date.now()
        for (const agentId of known.keys()) forget(agentId)
      } else for (const agentId of released) forget(agentId)
      released.clear()
      compact()
    },
    pendingAgents() {
      const out = new Map<string, { info: AgentInfo; keyId?: string }>()
      for (const agentId of refs.keys()) {
        const k = known.get(agentId)
        if (k) out.set(agentId, k)
      }
      return out
    },
    remember(agentId, info, keyId) {
      known.set(agentId, { info, ...(keyId ? { keyId } : {}) })
    },
    infoOf: (agentId) => known.get(agentId),
    durable: () => journal?.durable(),
    get samples() {
      return samples
    },
    get unsent() {
      return samples - handed
    },
    get controls() {
      return controls
    },
    get size() {
      return live
    },
  }
  const replayedAgents: string[] = []
  if (journal) {
    const replayed = journal.replay()
    nextSeq = replayed.nextSeq
    for (const [agentId, k] of replayed.infos) known.set(agentId, k as { info: AgentInfo; keyId?: string })
    for (const { seq, op } of replayed.entries) {
      const relayOp = op as RelayOp
      if (!relayOp || typeof relayOp.agentId !== 'string') continue
      entries.push({ seq, op: relayOp })
      count(relayOp, 1)
    }
    replayedAgents.push(...refs.keys())
    for (const agentId of known.keys()) if (!refs.has(agentId)) known.delete(agentId)
    // Start the file afresh from what is still owed.
    rewriteJournal(journal)
  }
  return { outbox, replayedAgents }
}
