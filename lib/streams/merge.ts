// Interleaves several streams by time, as `docker compose logs` does: each source is already in time
// order, so the earliest head goes first; a source that is quiet is waited for only briefly, so a
// followed stream never stalls behind a silent one. Holds at most one batch per source.
import type { StreamReader } from './table.ts'
import type { StreamChunk } from './types.ts'

export interface Tagged {
  source: string
  chunk: StreamChunk
}

export async function* mergeByTime(sources: Array<{ name: string; reader: StreamReader }>, options: { signal?: AbortSignal; holdMs?: number } = {}): AsyncGenerator<Tagged | { source: string; end: true; error?: string }> {
  const holdMs = options.holdMs ?? 200
  const state = sources.map((s) => ({ ...s, queue: [] as StreamChunk[], done: false, error: undefined as string | undefined, reading: undefined as Promise<void> | undefined }))
  let wake: (() => void) | undefined
  const read = (entry: (typeof state)[number]) => {
    entry.reading ??= entry.reader.next(options.signal).then((batch) => {
      entry.reading = undefined
      if (batch.done) {
        entry.done = true
        entry.error = batch.error
      } else entry.queue.push(...batch.chunks)
      wake?.()
    })
  }
  const ended = new Set<string>()
  options.signal?.addEventListener('abort', () => wake?.(), { once: true })
  for (;;) {
    for (const entry of state) if (!entry.done && entry.queue.length === 0) read(entry)
    for (const entry of state) {
      if (entry.done && entry.queue.length === 0 && !ended.has(entry.name)) {
        ended.add(entry.name)
        yield entry.error === undefined ? { source: entry.name, end: true } : { source: entry.name, end: true, error: entry.error }
      }
    }
    if (ended.size === state.length || options.signal?.aborted) return
    const waiting = state.some((e) => !e.done && e.queue.length === 0)
    const ready = state.filter((e) => e.queue.length > 0)
    if (ready.length === 0 || waiting) {
      // Wait for a quiet source a moment (or for anything at all when nothing is ready).
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = ready.length > 0 ? setTimeout(() => resolve(true), holdMs) : undefined
        wake = () => {
          if (timer) clearTimeout(timer)
          wake = undefined
          resolve(false)
        }
      })
      if (!timedOut) continue
    }
    // Emit in time order until some source that still runs has nothing queued.
    for (;;) {
      let best: (typeof state)[number] | undefined
      for (const entry of state) {
        const head = entry.queue[0]
        if (!head) continue
        if (!best || timeOf(head) < timeOf(best.queue[0]!)) best = entry
      }
      if (!best) break
      yield { source: best.name, chunk: best.queue.shift()! }
      if (best.queue.length === 0 && !best.done) break
    }
  }
}

function timeOf(chunk: StreamChunk): string {
  // Pieces without a time (dropped markers) go out as soon as they are at the head.
  return 't' in chunk && chunk.t ? chunk.t : ''
}
