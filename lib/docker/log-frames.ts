// Docker's multiplexed attach/log stream: 8-byte frames (stream type, 3 zero bytes, big-endian
// length) when the container has no TTY, raw bytes when it has one. Splits it back into stdout and
// stderr text without ever joining a character split across frames.
import { StringDecoder } from 'node:string_decoder'

export type DockerStreamName = 'stdout' | 'stderr'

export interface FrameReader {
  /** Feeds bytes; calls `out` with decoded text per stream, in order. */
  push(bytes: Uint8Array): void
  /** Whatever text is left at the end. */
  flush(): void
}

export function createFrameReader(tty: boolean, out: (stream: DockerStreamName, text: string) => void): FrameReader {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') }
  let pending: Buffer = Buffer.alloc(0)
  const emit = (stream: DockerStreamName, bytes: Buffer) => {
    const text = decoders[stream].write(bytes)
    if (text) out(stream, text)
  }
  return {
    push(bytes) {
      const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      if (tty) {
        emit('stdout', chunk)
        return
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      let offset = 0
      while (pending.length - offset >= 8) {
        const size = pending.readUInt32BE(offset + 4)
        if (pending.length - offset - 8 < size) break
        const type = pending[offset]
        emit(type === 2 ? 'stderr' : 'stdout', pending.subarray(offset + 8, offset + 8 + size))
        offset += 8 + size
      }
      pending = offset === 0 ? pending : Buffer.from(pending.subarray(offset))
    },
    flush() {
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = decoders[stream].end()
        if (rest) out(stream, rest)
      }
    },
  }
}

/** Splits text into lines per stream, keeping a partial last line until its newline (or the end). */
export function createLineSplitter(out: (stream: DockerStreamName, line: string) => void): { push(stream: DockerStreamName, text: string): void; flush(): void } {
  const partial = { stdout: '', stderr: '' }
  return {
    push(stream, text) {
      const lines = (partial[stream] + text).split('\n')
      partial[stream] = lines.pop() ?? ''
      for (const line of lines) out(stream, line.endsWith('\r') ? line.slice(0, -1) : line)
    },
    flush() {
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream]) out(stream, partial[stream])
        partial[stream] = ''
      }
    },
  }
}
