// The shared stream piece on its own: a hop's buffer keeps a fixed bound and tells the reader how much
// it lost; a sender never has more than a window in flight until the next hop credits it; work that
// must not lose output waits for room; merged streams come out in time order.
import { describe, expect, it } from 'vitest'
import { createStreamBuffer, createStreamSources, createStreamTable, mergeByTime, STREAM_WINDOW_BYTES, type StreamChunk, type StreamControl } from '../../lib/streams/index.ts'

const line = (n: number, t?: string): StreamChunk => (t ? { s: 'stdout', d: `line ${n}`, t } : { s: 'stdout', d: `line ${n}` })

describe('stream buffer', () => {
  it('keeps at most its bound, drops the oldest and reports how many', async () => {
    const buffer = createStreamBuffer({ maxChunks: 100, maxBytes: 1 << 30 })
    for (let i = 1; i <= 1000; i++) buffer.push([line(i)])
    expect(buffer.size).toBe(100)
    const batch = await buffer.next()
    expect(batch.done).toBe(false)
    if (batch.done) return
    expect(batch.chunks[0]).toEqual({ s: 'dropped', n: 900 })
    expect(batch.chunks[1]).toEqual(line(901))
    expect(batch.chunks.at(-1)).toEqual(line(1000))
    buffer.end('gone')
    expect(await buffer.next()).toEqual({ done: true, error: 'gone' })
  })
})

describe('flow control', () => {
  it('sends at most a window until the receiving hop reads, and loses nothing of work that waits for room', async () => {
    const sources = createStreamSources()
    const table = createStreamTable()
    const controls: StreamControl[] = []
    let sentBytes = 0
    const reader = table.open('stream-0001', { owner: 'agent', send: (control) => (controls.push(control), sources.control(control)) })
    const total = 200_000
    sources.setHandler(async (_open, work) => {
      for (let i = 0; i < total; i += 1000) {
        work.push(Array.from({ length: 1000 }, (_, k) => line(i + k)))
        await work.room()
      }
    })
    sources.start({ streamId: 'stream-0001', kind: 'logs', arguments: {} }, {
      send(chunks) {
        sentBytes += JSON.stringify(chunks).length
        table.feed('agent', 'stream-0001', chunks)
      },
      end: (error) => table.end('agent', 'stream-0001', error),
    })
    // Nobody reads yet: the sender stops at its window.
    await new Promise((r) => setTimeout(r, 200))
    expect(table.bytes).toBeLessThanOrEqual(STREAM_WINDOW_BYTES)
    expect(table.bytes).toBeGreaterThan(STREAM_WINDOW_BYTES / 2)
    expect(sentBytes).toBeLessThan(total * 20)
    // Reading credits the sender, and every line arrives, none dropped.
    let received = 0
    for (;;) {
      const batch = await reader.next()
      if (batch.done) break
      received += batch.chunks.filter((c) => c.s === 'stdout').length
      expect(batch.chunks.some((c) => c.s === 'dropped')).toBe(false)
    }
    expect(received).toBe(total)
    expect(controls.some((c) => c.op === 'credit')).toBe(true)
  })

  it('a cancel from the reader reaches the work at once', async () => {
    const sources = createStreamSources()
    const table = createStreamTable()
    let stopped = false
    const reader = table.open('stream-0002', { owner: 'agent', send: (control) => sources.control(control) })
    sources.setHandler((_open, work) => new Promise<void>((resolve) => work.signal.addEventListener('abort', () => ((stopped = true), resolve()))))
    sources.start({ streamId: 'stream-0002', kind: 'logs', arguments: { follow: true } }, { send: (c) => void table.feed('agent', 'stream-0002', c), end: () => {} })
    await new Promise((r) => setTimeout(r, 10))
    expect(sources.active).toBe(1)
    reader.cancel()
    expect(stopped).toBe(true)
    expect(await reader.next()).toEqual({ done: true, error: 'cancelled' })
  })
})

describe('merge by time', () => {
  it('interleaves services by the time of each line', async () => {
    const table = createStreamTable()
    const a = table.open('stream-000a', { owner: 'x', send: () => {} })
    const b = table.open('stream-000b', { owner: 'x', send: () => {} })
    table.feed('x', 'stream-000a', [line(1, '2026-01-01T00:00:01Z'), line(3, '2026-01-01T00:00:03Z')])
    table.feed('x', 'stream-000b', [line(2, '2026-01-01T00:00:02Z'), line(4, '2026-01-01T00:00:04Z')])
    table.end('x', 'stream-000a')
    table.end('x', 'stream-000b')
    const out: string[] = []
    for await (const item of mergeByTime([{ name: 'a', reader: a }, { name: 'b', reader: b }])) if ('chunk' in item && 'd' in item.chunk) out.push(`${item.source}:${item.chunk.d}`)
    expect(out).toEqual(['a:line 1', 'b:line 2', 'a:line 3', 'b:line 4'])
  })
})
