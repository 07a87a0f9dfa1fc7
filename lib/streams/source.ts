// The sending end of streams, on the agent (and, for what it relays, a mid-tier): runs the work a
// stream asks for, keeps its output in a bounded buffer and passes it on in batches as fast as the
// transport takes them; a cancel stops the work at once.
import { createStreamBuffer, type StreamBufferOptions } from './buffer.ts'
import type { StreamReader } from './table.ts'
import { chunkBytes, STREAM_WINDOW_BYTES, type StreamChunk, type StreamControl, type StreamOpen } from './types.ts'

export interface StreamWork {
  /** Aborted when the viewer cancels or the connection that asked for the stream goes. */
  readonly signal: AbortSignal
  push(chunks: StreamChunk[]): void
  /**
   * Resolves when the stream's buffer has room again. Work that must not lose output (logs without
   * follow, a relayed stream) waits for it between pushes; live output pushes on and the oldest goes.
   */
  room(): Promise<void>
  /** Input, resize and end of input sent by the viewer (exec). */
  onControl(listener: (control: StreamControl) => void): void
}

/** Does the work of one stream; resolves when it is finished, rejects with the reason it failed. */
export type StreamHandler = (open: StreamOpen, work: StreamWork) => Promise<void>

/** Where a stream's output goes: one transport's upload. */
export interface StreamSink {
  send(chunks: StreamChunk[]): void | Promise<void>
  end(error?: string): void | Promise<void>
}

export interface StreamSources {
  setHandler(handler: StreamHandler | undefined): void
  start(open: StreamOpen, sink: StreamSink): void
  control(control: StreamControl): void
  /** Stops every stream (the connection that asked for them is gone). */
  stopAll(reason: string): void
  readonly active: number
}

/** Largest batch sent as one message, in bytes of text (the server's message limit is 1 MiB). */
const MAX_BATCH_BYTES = 256 * 1024

export function splitBatch(chunks: StreamChunk[], maxBytes = MAX_BATCH_BYTES): StreamChunk[][] {
  const batches: StreamChunk[][] = []
  let current: StreamChunk[] = []
  let bytes = 0
  for (const chunk of chunks) {
    const size = chunkBytes(chunk)
    if (current.length > 0 && bytes + size > maxBytes) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push(chunk)
    bytes += size
  }
  if (current.length > 0) batches.push(current)
  return batches
}

export function createStreamSources(options: StreamBufferOptions & { onError?(error: unknown): void } = {}): StreamSources {
  let handler: StreamHandler | undefined
  // Input that arrives before the work listens (an exec still starting) waits for it, bounded.
  const running = new Map<string, { controller: AbortController; listeners: Array<(control: StreamControl) => void>; early: StreamControl[]; credit(bytes: number): void }>()

  return {
    setHandler(next) {
      handler = next
    },
    start(open, sink) {
      if (running.has(open.streamId)) return
      const controller = new AbortController()
      // Flow control: at most a window of bytes sent and not yet passed on by the next hop.
      let inFlight = 0
      let wakeSender: (() => void) | undefined
      const entry = {
        controller,
        listeners: [] as Array<(control: StreamControl) => void>,
        early: [] as StreamControl[],
        credit(bytes: number) {
          inFlight = Math.max(0, inFlight - bytes)
          wakeSender?.()
        },
      }
      running.set(open.streamId, entry)
      const buffer = createStreamBuffer(options)
      // Room for `bytes` more: never more than the window in flight (a batch larger than it goes alone).
      const full = (bytes: number) => inFlight > 0 && inFlight + bytes > STREAM_WINDOW_BYTES
      const windowOpen = (bytes: number) =>
        new Promise<void>((resolve) => {
          if (!full(bytes) || controller.signal.aborted) return resolve()
          wakeSender = () => {
            if (full(bytes) && !controller.signal.aborted) return
            wakeSender = undefined
            resolve()
          }
        })
      controller.signal.addEventListener('abort', () => wakeSender?.(), { once: true })
      const work: StreamWork = {
        signal: controller.signal,
        push: (chunks) => buffer.push(chunks),
        room: () => buffer.room(controller.signal),
        onControl(listener) {
          entry.listeners.push(listener)
          for (const control of entry.early.splice(0)) listener(control)
        },
      }
      const run = handler ? handler : () => Promise.reject(new Error('This agent does not serve streams.'))
      Promise.resolve()
        .then(() => run(open, work))
        .then(
          () => buffer.end(controller.signal.aborted ? 'cancelled' : undefined),
          (error: unknown) => buffer.end((error as Error)?.message ?? String(error)),
        )
      controller.signal.addEventListener('abort', () => buffer.end('cancelled'), { once: true })
      void (async () => {
        try {
          for (;;) {
            const batch = await buffer.next()
            if (batch.done) {
              await sink.end(batch.error)
              break
            }
            for (const part of splitBatch(batch.chunks)) {
              const bytes = part.reduce((sum, chunk) => sum + chunkBytes(chunk), 0)
              await windowOpen(bytes)
              if (controller.signal.aborted) break
              inFlight += bytes
              await sink.send(part)
            }
          }
        } catch (error) {
          // The transport could not take it: the stream is over for the viewer too.
          options.onError?.(error)
          controller.abort()
        } finally {
          running.delete(open.streamId)
          controller.abort()
        }
      })()
    },
    control(control) {
      const entry = running.get(control.streamId)
      if (!entry) return
      if (control.op === 'cancel') {
        entry.controller.abort()
        return
      }
      if (control.op === 'credit') {
        entry.credit(control.bytes)
        return
      }
      if (entry.listeners.length === 0) {
        if (entry.early.length < 1000) entry.early.push(control)
        return
      }
      for (const listener of entry.listeners) listener(control)
    },
    stopAll() {
      for (const entry of running.values()) entry.controller.abort()
    },
    get active() {
      return running.size
    },
  }
}

/**
 * The sink of a SignalR client stream: each batch is one StreamItem, the end its Completion. Nothing
 * is handed to the Subject once the connection is down: the official client chains every item's send
 * on one promise nobody catches, so a send on a closed connection would be an unhandled rejection.
 */
export function subjectSink(subject: { next(value: unknown): void; complete(): void; error(error: Error): void }, connected: () => boolean): StreamSink {
  return {
    send(chunks) {
      if (!connected()) throw new Error('The connection was lost.')
      subject.next(chunks)
    },
    end(error) {
      if (!connected()) return
      if (error === undefined) subject.complete()
      else subject.error(new Error(error))
    },
  }
}

/** Work that relays a stream read at this hop (a mid-tier passing its agent's stream to the hub). */
export async function relayReader(reader: StreamReader, work: StreamWork): Promise<void> {
  work.onControl((control) => {
    if (control.op !== 'cancel') reader.control(control)
  })
  work.signal.addEventListener('abort', () => reader.cancel(), { once: true })
  for (;;) {
    // Read on only when the next hop has room: the hop before waits (or drops its oldest) meanwhile.
    await work.room()
    const batch = await reader.next(work.signal)
    if (!batch.done) {
      work.push(batch.chunks)
      continue
    }
    if (batch.error !== undefined && batch.error !== 'cancelled') throw new Error(batch.error)
    return
  }
}
