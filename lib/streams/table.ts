// The receiving end of streams at one hop (the agent gateway, the hub's mid-tier hub): streams opened
// towards an agent or mid-tier, fed by what it uploads, each with its own bounded buffer, ended with a
// reason when the sender goes away. The same piece serves every transport.
import { createStreamBuffer, type StreamBufferOptions } from './buffer.ts'
import { checkChunks, chunkBytes, type StreamBatch, type StreamChunk, type StreamControl } from './types.ts'

/** The reading side of one open stream, handed to whoever asked for it. */
export interface StreamReader {
  readonly streamId: string
  next(signal?: AbortSignal): Promise<StreamBatch>
  /** Input, resize or end of input for an exec; ignored once the stream ended. */
  control(control: Exclude<StreamControl, { op: 'cancel' }>): void
  /** Stops the work at the source and ends this reader. */
  cancel(): void
  readonly dropped: number
  readonly bytes: number
  readonly ended: boolean
}

/** How a table reaches the sender of one stream. */
export interface StreamRoute {
  /** The agent id or connection id that must feed this stream; nobody else may. */
  owner: string
  send(control: StreamControl): void
}

export interface StreamTable {
  open(streamId: string, route: StreamRoute): StreamReader
  /** Chunks from `owner`; false when it holds no such stream (ended, cancelled, never opened). */
  feed(owner: string, streamId: string, chunks: unknown): boolean
  end(owner: string, streamId: string, error?: string): void
  /** Ends every stream `owner` feeds: it disconnected. */
  endOwner(owner: string, reason: string): void
  /** Reads an upload (a SignalR client stream) of chunk batches into `streamId` until it completes. */
  consume(owner: string, streamId: string, upload: AsyncIterable<unknown>): Promise<void>
  readonly size: number
  /** Bytes buffered across all open streams. */
  readonly bytes: number
  readonly dropped: number
  close(reason: string): void
}

export function createStreamTable(options: StreamBufferOptions = {}): StreamTable {
  // `owed`: bytes fed and not yet credited back to the sender; credited when the reader takes them.
  const streams = new Map<string, { route: StreamRoute; buffer: ReturnType<typeof createStreamBuffer>; owed: number }>()
  let droppedClosed = 0

  const finish = (streamId: string, error?: string) => {
    const entry = streams.get(streamId)
    if (!entry) return
    streams.delete(streamId)
    droppedClosed += entry.buffer.dropped
    entry.buffer.end(error)
  }
  const owned = (owner: string, streamId: string) => {
    const entry = typeof streamId === 'string' ? streams.get(streamId) : undefined
    return entry && entry.route.owner === owner ? entry : undefined
  }

  const table: StreamTable = {
    open(streamId, route) {
      if (streams.has(streamId)) throw new Error(`Stream ${streamId} is already open.`)
      const buffer = createStreamBuffer(options)
      const entry = { route, buffer, owed: 0 }
      streams.set(streamId, entry)
      return {
        streamId,
        async next(signal) {
          const batch = await buffer.next(signal)
          if (!batch.done && entry.owed > 0 && streams.get(streamId) === entry) {
            const bytes = entry.owed
            entry.owed = 0
            try {
              route.send({ streamId, op: 'credit', bytes })
            } catch {
              // The sender is gone; its streams end with it.
            }
          }
          return batch
        },
        control(control) {
          if (streams.get(streamId)?.buffer === buffer) route.send(control)
        },
        cancel() {
          if (streams.get(streamId)?.buffer !== buffer) return
          finish(streamId, 'cancelled')
          try {
            route.send({ streamId, op: 'cancel' })
          } catch {
            // The sender is gone already; its streams end with it.
          }
        },
        get dropped() {
          return buffer.dropped
        },
        get bytes() {
          return buffer.bytes
        },
        get ended() {
          return buffer.ended
        },
      }
    },
    feed(owner, streamId, chunks) {
      const entry = owned(owner, streamId)
      if (!entry) return false
      const checked = checkChunks(chunks) as StreamChunk[]
      for (const chunk of checked) entry.owed += chunkBytes(chunk)
      entry.buffer.push(checked)
      return true
    },
    end(owner, streamId, error) {
      if (owned(owner, streamId)) finish(streamId, typeof error === 'string' && error ? error.slice(0, 1000) : undefined)
    },
    endOwner(owner, reason) {
      for (const [streamId, entry] of streams) if (entry.route.owner === owner) finish(streamId, reason)
    },
    async consume(owner, streamId, upload) {
      let error: string | undefined
      try {
        for await (const batch of upload) {
          // A stream the viewer cancelled keeps arriving until the sender hears; it is read and dropped.
          table.feed(owner, streamId, batch)
        }
      } catch (failure) {
        error = (failure as Error).message || 'the stream failed'
      }
      table.end(owner, streamId, error)
    },
    get size() {
      return streams.size
    },
    get bytes() {
      let total = 0
      for (const entry of streams.values()) total += entry.buffer.bytes
      return total
    },
    get dropped() {
      let total = droppedClosed
      for (const entry of streams.values()) total += entry.buffer.dropped
      return total
    },
    close(reason) {
      for (const streamId of [...streams.keys()]) finish(streamId, reason)
    },
  }
  return table
}
