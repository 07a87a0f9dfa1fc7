// Reads a request body as text but never holds more than a limit: a chunked body (no Content-Length)
// is counted while it streams in, and reading stops once it passes the limit.

/** How long the unread rest of a too-large body is swallowed (so the 413 gets out) before the socket is cut. */
const DISCARD_MS = 1000

/**
 * The body as UTF-8 text, or `undefined` when it is larger than `maxBytes` (answer 413). After
 * `undefined` the rest of the body is read and dropped in the background for up to a second, then
 * the stream is cancelled: memory stays bounded by the limit whatever the client sends.
 */
export async function readLimitedText(request: Request, maxBytes: number): Promise<string | undefined> {
  const declared = request.headers.get('content-length')
  if (declared !== null && !request.headers.has('transfer-encoding') && Number(declared) > maxBytes) return undefined
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      discard(reader)
      return undefined
    }
    chunks.push(value)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return new TextDecoder().decode(body)
}

// Cancelling at once would reset the connection before the client reads the 413; reading on without
// keeping anything lets the answer out, and the deadline stops a client that never ends.
function discard(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), DISCARD_MS)
  ;(timer as { unref?: () => void }).unref?.()
  const drop = (): Promise<void> => reader.read().then(({ done }) => (done ? clearTimeout(timer) : drop()))
  // A rejected read means the client went away or the deadline cancelled it: nothing left to drop.
  drop().catch(() => clearTimeout(timer))
}
