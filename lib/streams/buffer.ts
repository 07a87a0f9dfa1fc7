// The bounded buffer every hop of a stream keeps between what arrives and what it can pass on: past
// its bound it forgets the oldest output and tells the reader how much, so a slow or stalled reader
// costs a fixed amount of memory and never slows the producer.
import { chunkBytes, type StreamBatch, type StreamChunk } from './types.ts'

export interface StreamBufferOptions {
  /** Most chunks held (default 65536). */
  maxChunks?: number
  /** Most bytes of output held (default 4 MiB; a receiving hop never holds more than the sender's 2 MiB window). */
  maxBytes?: number
}

export interface StreamBuffer {
  push(chunks: StreamChunk[]): void
  /** Ends the stream after what is buffered; `error` is the reason it ended early. */
  end(error?: string): void
  /** Resolves once the buffer is at most half full (a producer that must not lose anything waits for it). */
  room(signal?: AbortSignal): Promise<void>
  /** Everything buffered (a `dropped` chunk first when output was lost), or the end. */
  next(signal?: AbortSignal): Promise<StreamBatch>
  /** Chunks dropped since the start. */
  readonly dropped: number
  readonly size: number
  readonly bytes: number
  readonly ended: boolean
}

export const STREAM_BUFFER_DEFAULTS = { maxChunks: 65_536, maxBytes: 4096 * 1024 }

export function createStreamBuffer(options: StreamBufferOptions = {}): StreamBuffer {
  const maxChunks = options.maxChunks ?? STREAM_BUFFER_DEFAULTS.maxChunks
  const maxBytes = options.maxBytes ?? STREAM_BUFFER_DEFAULTS.maxBytes
  let items: StreamChunk[] = []
  let head = 0
  let bytes = 0
  let droppedTotal = 0
  let droppedPending = 0
  let ended = false
  let error: string | undefined
  let wake: (() => void) | undefined
  const roomWaiters = new Set<() => void>()
  const hasRoom = () => size() <= maxChunks / 2 && bytes <= maxBytes / 2

  const drop = () => {
    const oldest = items[head]!
    head++
    bytes -= chunkBytes(oldest)
    // A dropped marker an earlier hop sent still counts as lost output, not as one chunk.
    const lost = oldest.s === 'dropped' ? oldest.n : 1
    droppedTotal += lost
    droppedPending += lost
  }
  const size = () => items.length - head

  return {
    push(chunks) {
      if (ended) return
      for (const chunk of chunks) {
        items.push(chunk)
        bytes += chunkBytes(chunk)
      }
      while (size() > 0 && (size() > maxChunks || bytes > maxBytes)) drop()
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head)
        head = 0
      }
      wake?.()
    },
    end(reason) {
      if (ended) return
      ended = true
      error = reason
      for (const resolve of roomWaiters) resolve()
      roomWaiters.clear()
      wake?.()
    },
    room(signal) {
      if (hasRoom() || ended || signal?.aborted) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const done = () => {
          roomWaiters.delete(done)
          resolve()
        }
        roomWaiters.add(done)
        signal?.addEventListener('abort', done, { once: true })
      })
    },
    async next(signal) {
      for (;;) {
        if (size() > 0 || droppedPending > 0) {
          const chunks: StreamChunk[] = droppedPending > 0 ? [{ s: 'dropped', n: droppedPending }] : []
          droppedPending = 0
          for (let i = head; i < items.length; i++) chunks.push(items[i]!)
          items = []
          head = 0
          bytes = 0
          for (const resolve of roomWaiters) resolve()
          roomWaiters.clear()
          return { done: false, chunks }
        }
        if (ended) return error === undefined ? { done: true } : { done: true, error }
        if (signal?.aborted) return { done: true, error: 'cancelled' }
        await new Promise<void>((resolve) => {
          const done = () => {
            wake = undefined
            signal?.removeEventListener('abort', done)
            resolve()
          }
          wake = done
          signal?.addEventListener('abort', done, { once: true })
        })
      }
    },
    get dropped() {
      return droppedTotal
    },
    get size() {
      return size()
    },
    get bytes() {
      return bytes
    },
    get ended() {
      return ended
    },
  }
}
