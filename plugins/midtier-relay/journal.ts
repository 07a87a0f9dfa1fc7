// An append-only file of what the mid-tier still owes the hub, so a crash (kill -9) or a restart
// loses no accepted sample: each op is written before it counts as received, acks mark delivery.
// Lines appended during one turn of the event loop (every socket the poll phase read) go out in one
// write, from setImmediate; `durable()` resolves after that write, and the agents' answers wait for it
// (agent-gateway's setDurable), so an answered report is on disk. One write per tick, not per report:
// at thousands of reports a second the per-report write was a large part of the mid-tier's CPU.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

export type JournalLine =
  | { s: number; op: unknown }
  | { a: number }
  | { d: number }
  | { k: { agentId: string; info: unknown; keyId?: string } }

export interface Replayed {
  /** Ops not yet delivered nor dropped, in order. */
  entries: Array<{ seq: number; op: unknown }>
  /** The last known AgentInfo (and key id) of every agent the file mentions. */
  infos: Map<string, { info: unknown; keyId?: string }>
  nextSeq: number
}

export interface Journal {
  replay(): Replayed
  /** Appends lines; they are written together once this turn of the event loop is done. */
  append(...lines: JournalLine[]): void
  /** Resolves once every line appended so far is written (at once when none waits); rejects if the write failed. */
  durable(): Promise<void> | undefined
  /** Writes what is appended but not yet written. */
  flush(): void
  /** Empties the file: nothing is owed. */
  clear(): void
  /** Replaces the file with just these lines (atomically, by rename). */
  rewrite(lines: JournalLine[]): void
  /** Lines appended since the last rewrite. */
  readonly written: number
  close(): void
}

export function openJournal(path: string): Journal {
  mkdirSync(dirname(path), { recursive: true })
  let fd = openSync(path, 'a', 0o600)
  let written = 0
  let pending = ''
  let scheduled: ReturnType<typeof setImmediate> | undefined
  // Settled by the write that takes what is pending now.
  let waiting: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | undefined
  const settle = (error?: unknown) => {
    const w = waiting
    waiting = undefined
    if (error === undefined) w?.resolve()
    else w?.reject(error)
  }
  const flush = () => {
    if (scheduled) clearImmediate(scheduled)
    scheduled = undefined
    if (!pending) return settle()
    const text = pending
    pending = ''
    try {
      writeSync(fd, text)
    } catch (error) {
      settle(error)
      throw error
    }
    settle()
  }
  const scheduledFlush = () => {
    try {
      flush()
    } catch {
      // The agents waiting on it get the error; each sends its report again.
    }
  }
  return {
    replay() {
      const entries = new Map<number, unknown>()
      const infos = new Map<string, { info: unknown; keyId?: string }>()
      let acked = -1
      let maxSeq = -1
      const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
      for (const raw of text.split('\n')) {
        if (!raw) continue
        let line: JournalLine
        try {
          line = JSON.parse(raw) as JournalLine
        } catch {
          continue // a line cut short by a crash
        }
        if ('s' in line) {
          entries.set(line.s, line.op)
          maxSeq = Math.max(maxSeq, line.s)
          const op = line.op as { kind?: string; agentId?: string; info?: unknown; keyId?: string }
          if (op?.kind === 'register' && typeof op.agentId === 'string') infos.set(op.agentId, { info: op.info, ...(op.keyId ? { keyId: op.keyId } : {}) })
        } else if ('a' in line) acked = Math.max(acked, line.a)
        else if ('d' in line) entries.delete(line.d)
        else if ('k' in line && typeof line.k?.agentId === 'string') infos.set(line.k.agentId, { info: line.k.info, ...(line.k.keyId ? { keyId: line.k.keyId } : {}) })
      }
      const live = [...entries].filter(([seq]) => seq > acked).sort((a, b) => a[0] - b[0])
      return { entries: live.map(([seq, op]) => ({ seq, op })), infos, nextSeq: Math.max(maxSeq, acked) + 1 }
    },
    append(...lines) {
      for (const line of lines) pending += JSON.stringify(line) + '\n'
      written += lines.length
      scheduled ??= setImmediate(scheduledFlush)
    },
    durable() {
      if (!pending) return undefined
      if (!waiting) {
        let resolve!: () => void
        let reject!: (error: unknown) => void
        const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
        waiting = { promise, resolve, reject }
      }
      return waiting.promise
    },
    flush,
    clear() {
      // Everything owed was delivered, including what is not written yet.
      pending = ''
      ftruncateSync(fd, 0)
      written = 0
      settle()
    },
    rewrite(lines) {
      pending = '' // the lines are the whole state, pending ones included
      const temp = `${path}.tmp`
      const out = openSync(temp, 'w', 0o600)
      try {
        let chunk = ''
        for (const line of lines) {
          chunk += JSON.stringify(line) + '\n'
          if (chunk.length > 1 << 20) {
            writeSync(out, chunk)
            chunk = ''
          }
        }
        if (chunk) writeSync(out, chunk)
      } finally {
        closeSync(out)
      }
      closeSync(fd)
      renameSync(temp, path)
      fd = openSync(path, 'a', 0o600)
      written = 0
      settle()
    },
    get written() {
      return written
    },
    close() {
      flush()
      closeSync(fd)
    },
  }
}
