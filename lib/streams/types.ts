// The wire shapes of a stream that crosses the fleet (agent -> mid-tier -> hub -> viewer): what opens
// one, what flows back, and what the viewer sends while it runs. Every hop speaks these.

export type StreamKind = 'logs' | 'exec'

export interface LogsArguments {
  container: string
  follow?: boolean
  /** Unix seconds, or an RFC 3339 time. */
  since?: number | string
  until?: number | string
  tail?: number
  stdout?: boolean
  stderr?: boolean
}

export interface ExecArguments {
  container: string
  command: string[]
  tty: boolean
  cols?: number
  rows?: number
}

export interface StreamOpen {
  streamId: string
  kind: StreamKind | (string & {})
  arguments: LogsArguments | ExecArguments | Record<string, unknown>
}

/**
 * One piece of a stream: output (`s` stdout/stderr, `d` text, `t` RFC 3339 time when the source
 * knows it), a count of pieces a slow hop dropped, or an exec's exit code.
 */
export type StreamChunk =
  | { s: 'stdout' | 'stderr'; d: string; t?: string }
  | { s: 'dropped'; n: number }
  | { s: 'exit'; code: number }

/** What the viewer's side sends towards the agent while a stream runs. */
export type StreamControl =
  | { streamId: string; op: 'cancel' }
  | { streamId: string; op: 'input'; data: string }
  | { streamId: string; op: 'eof' }
  | { streamId: string; op: 'resize'; cols: number; rows: number }
  /** The next hop passed on this many bytes: the sender may send that much more (flow control). */
  | { streamId: string; op: 'credit'; bytes: number }

/** A batch of chunks, or the end (with the reason when it did not end normally). */
export type StreamBatch = { done: false; chunks: StreamChunk[] } | { done: true; error?: string }

/** Bytes a sender may have sent and not yet been credited for (each hop's window). */
export const STREAM_WINDOW_BYTES = 2048 * 1024

/** What a chunk is counted as in buffers and windows: its text plus the cost of the object holding it. */
export function chunkBytes(chunk: StreamChunk): number {
  return 'd' in chunk ? chunk.d.length + 64 : 64
}

const ID = /^[A-Za-z0-9_-]{8,64}$/

export function isStreamId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value)
}

/** Checks a control message from a less trusted hop; undefined when it is not one. */
export function checkControl(value: unknown): StreamControl | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const c = value as Record<string, unknown>
  if (!isStreamId(c.streamId)) return undefined
  switch (c.op) {
    case 'cancel':
    case 'eof':
      return { streamId: c.streamId, op: c.op }
    case 'input':
      return typeof c.data === 'string' && c.data.length <= 65_536 ? { streamId: c.streamId, op: 'input', data: c.data } : undefined
    case 'credit':
      return typeof c.bytes === 'number' && Number.isFinite(c.bytes) && c.bytes > 0 ? { streamId: c.streamId, op: 'credit', bytes: c.bytes } : undefined
    case 'resize': {
      const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 1000
      return ok(c.cols) && ok(c.rows) ? { streamId: c.streamId, op: 'resize', cols: c.cols, rows: c.rows } : undefined
    }
    default:
      return undefined
  }
}

/** Checks a batch of chunks from a less trusted hop, keeping the well-formed ones. */
export function checkChunks(value: unknown): StreamChunk[] {
  if (!Array.isArray(value)) return []
  const out: StreamChunk[] = []
  for (const raw of value) {
    if (typeof raw !== 'object' || raw === null) continue
    const c = raw as Record<string, unknown>
    if ((c.s === 'stdout' || c.s === 'stderr') && typeof c.d === 'string') {
      out.push(typeof c.t === 'string' ? { s: c.s, d: c.d, t: c.t } : { s: c.s, d: c.d })
    } else if (c.s === 'dropped' && typeof c.n === 'number' && c.n > 0) out.push({ s: 'dropped', n: c.n })
    else if (c.s === 'exit' && typeof c.code === 'number') out.push({ s: 'exit', code: c.code })
  }
  return out
}
