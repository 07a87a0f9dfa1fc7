// Following the event log by push against a real hub process on PostgreSQL: GET /api/events/stream sends
// what was recorded after a cursor, then each new event as it is stored, once each and in order, filtered
// like GET /api/events; a bad cursor is a 400 naming it. `thresh events -f` reads this stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { dropSchema, eventually, startHub, type TestHub } from './support.ts'

requireTool('postgres')

let hub: TestHub
let token: string

beforeAll(async () => {
  hub = await startHub({ storage: 'postgres' })
  token = await hub.login()
}, 90_000)

afterAll(async () => {
  await hub?.stop()
  await dropSchema(hub?.schema)
})

async function revokeNewKey(name: string): Promise<string> {
  const key = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name } })).body
  expect((await hub.request('DELETE', `/api/keys/${key.id}`, { token })).status).toBeLessThan(300)
  return key.id as string
}

const eventsOf = async (query: string): Promise<Array<{ id: string; kind: string; message: string }>> =>
  (await hub.request('GET', `/api/events?${query}`, { token })).body.events

/** Reads NDJSON lines from the stream as they come. */
function follow(query: string) {
  const controller = new AbortController()
  const lines: Array<Record<string, any>> = []
  const response = fetch(`${hub.url}/api/events/stream?${query}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  const done = (async () => {
    const reply = await response
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toContain('application/x-ndjson')
    const reader = reply.body!.pipeThrough(new TextDecoderStream()).getReader()
    let partial = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      const parts = (partial + value).split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) if (line.trim()) lines.push(JSON.parse(line))
    }
  })().catch((error) => {
    if (!controller.signal.aborted) throw error
  })
  // Once the answer's headers are in, the hub is subscribed: nothing stored after that is missed.
  return { lines, opened: response.then(() => undefined), close: () => (controller.abort(), done) }
}

describe('following fleet events', () => {
  it('streams the events after a cursor, then each new one as it is stored, once each and in order', async () => {
    const first = await revokeNewKey('stream-first')
    const cursor = (await eventually(async () => (await eventsOf('kind=key_revoked')).find((e) => e.message.includes(first)), 10_000, 'the first event'))!.id
    const second = await revokeNewKey('stream-second')
    await eventually(async () => (await eventsOf('kind=key_revoked')).find((e) => e.message.includes(second)), 10_000, 'the second event')

    const stream = follow(`after=${cursor}&kind=key_revoked`)
    try {
      await eventually(async () => stream.lines.find((e) => e.message.includes(second)), 10_000, 'the recorded event after the cursor')
      const third = await revokeNewKey('stream-third')
      // Not a key_revoked event: filtered out.
      await hub.request('POST', '/api/clusters', { token, body: { name: 'stream-filtered' } })
      await eventually(async () => stream.lines.find((e) => e.message.includes(third)), 10_000, 'the new event, pushed')
      expect(stream.lines.map((e) => e.message)).toEqual([expect.stringContaining(second), expect.stringContaining(third)])
      expect(stream.lines.every((e) => e.kind === 'key_revoked')).toBe(true)
      expect(BigInt(stream.lines[1]!.id)).toBeGreaterThan(BigInt(stream.lines[0]!.id))
    } finally {
      await stream.close()
    }
  }, 60_000)

  it('without a cursor sends only new events, and refuses a cursor that is not an event id', async () => {
    const old = await revokeNewKey('stream-old')
    await eventually(async () => (await eventsOf('kind=key_revoked')).find((e) => e.message.includes(old)), 10_000, 'the old event')
    const stream = follow('kind=key_revoked')
    try {
      await stream.opened
      const fresh = await revokeNewKey('stream-new')
      await eventually(async () => stream.lines.find((e) => e.message.includes(fresh)), 10_000, 'the new event')
      expect(stream.lines.some((e) => e.message.includes(old))).toBe(false)
    } finally {
      await stream.close()
    }
    const bad = await hub.request('GET', '/api/events/stream?after=yesterday', { token })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain('after')
  }, 60_000)
})
