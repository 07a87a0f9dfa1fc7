// Wire-level behaviour the official client relies on, checked with raw HTTP and WebSocket traffic:
// negotiate, HTTP status codes, handshake, framing, keep-alive, long polling, SSE and CORS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatServerSentEvent, redactAccessToken } from '../../lib/signalr/index.ts'
import { negotiateAndOpen, openRaw, RS } from '../fixtures/signalr-raw-client.ts'
import { startSignalRTestServer, type TestServer } from '../fixtures/signalr-server.ts'
import { mapTestHub } from '../fixtures/signalr-test-hub.ts'

let server: TestServer
const logs: string[] = []

beforeAll(async () => {
  const capture = (...args: unknown[]) => void logs.push(args.map(String).join(' '))
  server = await startSignalRTestServer(
    { pollTimeoutMs: 300, handshakeTimeoutMs: 300, keepAliveMs: 200, heartbeatMs: 25, logger: { debug: capture, warn: capture } },
    (signalr) => void mapTestHub(signalr),
  )
})
afterAll(async () => {
  await server.close()
})

const negotiate = async (query = '?negotiateVersion=1') => {
  const response = await fetch(`${server.url}/testhub/negotiate${query}`, { method: 'POST' })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe('negotiate', () => {
  it('answers v1 with a public id, a different secret token, both URL-safe, and all three transports', async () => {
    const { status, body } = await negotiate()
    expect(status).toBe(200)
    expect(body.negotiateVersion).toBe(1)
    expect(body.connectionId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(body.connectionToken).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(body.connectionToken).not.toBe(body.connectionId)
    expect(body.availableTransports).toEqual([
      { transport: 'WebSockets', transferFormats: ['Text', 'Binary'] },
      { transport: 'ServerSentEvents', transferFormats: ['Text'] },
      { transport: 'LongPolling', transferFormats: ['Text', 'Binary'] },
    ])
    expect(body).not.toHaveProperty('useStatefulReconnect')
  })

  it('treats a missing version as v0 (no separate token), caps higher versions at 1 and refuses non-integers', async () => {
    const v0 = await negotiate('')
    expect(v0.body.negotiateVersion).toBe(0)
    expect(v0.body).not.toHaveProperty('connectionToken')
    expect((await negotiate('?negotiateVersion=7')).body.negotiateVersion).toBe(1)
    const bad = await negotiate('?negotiateVersion=abc')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toBe('The client requested a non-integer protocol version.')
  })

  it('answers a CORS preflight with the echoed origin, credentials and the client headers', async () => {
    const response = await fetch(`${server.url}/testhub/negotiate`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://dash.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,x-requested-with,x-signalr-user-agent',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('https://dash.example')
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('access-control-allow-headers')).toContain('x-signalr-user-agent')
    const negotiated = await fetch(`${server.url}/testhub/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Origin: 'https://dash.example' } })
    expect(negotiated.headers.get('access-control-allow-origin')).toBe('https://dash.example')
  })
})

describe('connection endpoints', () => {
  it('answers 400 without an id, 404 for an unknown id, 409 for a second WebSocket and 405 for POST on a WebSocket', async () => {
    expect((await fetch(`${server.url}/testhub`)).status).toBe(400)
    expect((await fetch(`${server.url}/testhub`, { method: 'POST', body: 'x' })).status).toBe(400)
    expect((await fetch(`${server.url}/testhub?id=nope`)).status).toBe(404)
    await expect(openRaw(`${server.url}/testhub?id=nope`)).rejects.toThrow('status 404')
    const socket = await negotiateAndOpen(server.url, '/testhub')
    await expect(openRaw(`${server.url}/testhub?id=${socket.token}`)).rejects.toThrow('status 409')
    expect((await fetch(`${server.url}/testhub?id=${socket.token}`, { method: 'POST', body: 'x' })).status).toBe(405)
    expect((await fetch(`${server.url}/testhub?id=${socket.token}`, { method: 'DELETE' })).status).toBe(400)
    socket.ws.close()
  })

  it('forgets a token once the server closed the connection, so a stale reconnect gets 404', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    socket.send(`{"protocol":"json","version":1}${RS}`)
    expect(await socket.next()).toBe(`{}${RS}`)
    socket.send(`{"type":1,"invocationId":"1","target":"CloseMe","arguments":[null,false]}${RS}`)
    await socket.closed
    await expect(openRaw(`${server.url}/testhub?id=${socket.token}`)).rejects.toThrow('status 404')
  })
})

describe('handshake and framing', () => {
  it('accepts a handshake split across frames, with an invocation in the same frame as its end', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    socket.send('{"protocol":"js')
    socket.send(`on","version":1}${RS}{"type":1,"invocationId":"1","target":"Echo","arguments":["hi"]}${RS}`)
    expect(await socket.next()).toBe(`{}${RS}`)
    expect(await socket.next()).toBe(`{"type":3,"invocationId":"1","result":"hi"}${RS}`)
    socket.ws.close()
  })

  it('reads several records in one frame and a record split across frames', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    socket.send(`{"protocol":"json","version":1}${RS}`)
    expect(await socket.next()).toBe(`{}${RS}`)
    socket.send(`{"type":1,"invocationId":"1","target":"Echo","arguments":[1]}${RS}{"type":6}${RS}{"type":1,"invocationId":"2","target":"Echo","arguments":[2]}${RS}{"type":1,"invocationId":"3","target":"Ec`)
    socket.send(`ho","arguments":["你好"]}${RS}`)
    // Answers of one turn may share a frame: read records, not frames.
    let replies = ''
    while (replies.split(RS).length < 4) replies += await socket.next()
    expect(replies.split(RS).slice(0, 3)).toEqual([`{"type":3,"invocationId":"1","result":1}`, `{"type":3,"invocationId":"2","result":2}`, `{"type":3,"invocationId":"3","result":"你好"}`])
    socket.ws.close()
  })

  it('answers calls a client sends together in one frame, not one frame per answer', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    socket.send(`{"protocol":"json","version":1}${RS}`)
    expect(await socket.next()).toBe(`{}${RS}`)
    const calls = 50
    socket.send(Array.from({ length: calls }, (_, i) => `{"type":1,"invocationId":"${i}","target":"Echo","arguments":[${i}]}${RS}`).join(''))
    const frames: string[] = []
    while (frames.join('').split(RS).length <= calls) frames.push(await socket.next())
    expect(frames.join('').split(RS).slice(0, calls)).toEqual(Array.from({ length: calls }, (_, i) => `{"type":3,"invocationId":"${i}","result":${i}}`))
    // Each frame is a write to the socket: one per turn of the server's event loop, not one per answer.
    expect(frames.length).toBeLessThan(calls / 5)
    socket.ws.close()
  })

  it('refuses an unsupported protocol or version with an error reply, then closes', async () => {
    for (const [handshake, error] of [
      ['{"protocol":"messagepack","version":1}', "The protocol 'messagepack' is not supported."],
      ['{"protocol":"json","version":3}', "The server does not support version 3 of the 'json' protocol."],
    ]) {
      const socket = await negotiateAndOpen(server.url, '/testhub')
      socket.send(handshake + RS)
      expect(JSON.parse((await socket.next()).slice(0, -1))).toEqual({ error })
      expect(await socket.closed).toBe(1000)
    }
  })

  it('closes a connection that sends no handshake in time', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    const started = Date.now()
    expect(await socket.next(2000)).toBe(`{"error":"Handshake was canceled."}${RS}`)
    await socket.closed
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
  })

  it('pings an idle connection once the keep-alive interval passes', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    socket.send(`{"protocol":"json","version":1}${RS}`)
    expect(await socket.next()).toBe(`{}${RS}`)
    expect(await socket.next(1000)).toBe(`{"type":6}${RS}`)
    socket.ws.close()
  })

  it('sends nothing back for a non-blocking call, and StreamItems always carry item', async () => {
    const socket = await negotiateAndOpen(server.url, '/testhub')
    socket.send(`{"protocol":"json","version":1}${RS}`)
    await socket.next()
    socket.send(`{"type":1,"target":"Echo","arguments":["quiet"]}${RS}{"type":1,"target":"Throw","arguments":[]}${RS}{"type":1,"invocationId":"9","target":"Nothing","arguments":[]}${RS}`)
    expect(await socket.next()).toBe(`{"type":3,"invocationId":"9"}${RS}`)
    socket.ws.close()
  })
})

describe('long polling', () => {
  it('returns an empty first poll, data on later polls, 200 empty on poll timeout, 409 on a concurrent send, and 202/204 on DELETE', async () => {
    const { body } = await negotiate()
    const url = `${server.url}/testhub?id=${body.connectionToken}`
    const first = await fetch(url)
    expect(first.status).toBe(200)
    expect(first.headers.get('content-length')).toBe('0')
    expect(await first.text()).toBe('')
    expect((await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` })).status).toBe(200)
    const handshake = await fetch(url)
    expect(await handshake.text()).toBe(`{}${RS}`)
    // No pings on long polling: an idle poll ends empty after the poll timeout.
    const idle = await fetch(url)
    expect(idle.status).toBe(200)
    expect(await idle.text()).toBe('')

    // A send whose body is still arriving blocks a second send.
    let finishBody!: () => void
    const slowBody = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`{"type":1,"invocationId":"1","target":"Echo",`))
        finishBody = () => {
          controller.enqueue(new TextEncoder().encode(`"arguments":["slow"]}${RS}`))
          controller.close()
        }
      },
    })
    const slow = fetch(url, { method: 'POST', body: slowBody, duplex: 'half' } as RequestInit)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await fetch(url, { method: 'POST', body: `{"type":6}${RS}` })).status).toBe(409)
    finishBody()
    expect((await slow).status).toBe(200)
    expect(await (await fetch(url)).text()).toBe(`{"type":3,"invocationId":"1","result":"slow"}${RS}`)

    const pending = fetch(url)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(202)
    expect((await pending).status).toBe(204)
    expect((await fetch(url)).status).toBe(404)
  })
})

describe('long polling stop', () => {
  it('answers the DELETE that follows a client Close message with 202, then forgets the token', async () => {
    const { body } = await negotiate()
    const url = `${server.url}/testhub?id=${body.connectionToken}`
    await fetch(url)
    await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` })
    expect(await (await fetch(url)).text()).toBe(`{}${RS}`)
    const pending = fetch(url)
    expect((await fetch(url, { method: 'POST', body: `{"type":7}${RS}` })).status).toBe(200)
    expect((await pending).status).toBe(204)
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(202)
    expect((await fetch(url)).status).toBe(404)
  })
})

describe('server-sent events', () => {
  it('opens with a comment line and frames each message as data lines', async () => {
    const { body } = await negotiate()
    const url = `${server.url}/testhub?id=${body.connectionToken}`
    const controller = new AbortController()
    const response = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal })
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    expect(response.headers.get('cache-control')).toBe('no-cache,no-store')
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let received = ''
    const readUntil = async (needle: string) => {
      while (!received.includes(needle)) received += decoder.decode((await reader.read()).value)
    }
    await readUntil(':\r\n')
    expect(received.startsWith(':\r\n')).toBe(true)
    await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}{"type":1,"invocationId":"1","target":"Echo","arguments":["日本語"]}${RS}` })
    await readUntil('日本語')
    expect(received).toContain(`data: {}${RS}\r\n\r\n`)
    expect(received).toContain(`data: {"type":3,"invocationId":"1","result":"日本語"}${RS}\r\n\r\n`)
    controller.abort()
    expect(formatServerSentEvent('a\nb\r\nc')).toBe('data: a\r\ndata: b\r\ndata: c\r\n\r\n')
  })
})

describe('logging', () => {
  it('never writes an access_token to the log', async () => {
    await fetch(`${server.url}/testhub/negotiate?negotiateVersion=1&access_token=super-secret-token`, { method: 'POST' })
    await fetch(`${server.url}/testhub?id=x&access_token=super-secret-token`)
    expect(logs.some((line) => line.includes('[redacted]'))).toBe(true)
    expect(logs.join('\n')).not.toContain('super-secret-token')
    expect(redactAccessToken('/hub?id=1&access_token=abc&x=2')).toBe('/hub?id=1&access_token=[redacted]&x=2')
  })
})
