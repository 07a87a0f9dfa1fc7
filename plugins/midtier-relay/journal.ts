// An append-only file of what the mid-tier still owes the hub, so a crash (kill -9) or a restart
// loses no accepted sample: each op is written before it counts as received, acks mark delivery.
// Lines appended during one turn of the event loop go out in one write, from a microtask: after what
// the same turn sent on (a command result reaches the hub first) but before any answer the turn owes
// an agent, since those are sent once the handler that appended has returned.
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
  /** Appends lines; they are written together at the end of the current microtask run. */
  append(...lines: JournalLine[]): void
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
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (!pending) return
    const text = pending
    pending = ''
    writeSync(fd, text)
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
      if (!scheduled) {
        scheduled = true
        queueMicrotask(flush)
      }
    },
    flush,
    clear() {
      // Everything owed was delivered, including what is not written yet.
      pending = ''
      ftruncateSync(fd, 0)
      written = 0
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
