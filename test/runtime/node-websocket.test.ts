// The Node adapter's WebSocket upgrade: hono's contract (c.req during the upgrade, onOpen/onMessage/
// onClose/onError with send, close, readyState, raw, url), refusals, shutdown, and that an open
// socket keeps nothing of its upgrade request alive (the idle memory per connection).
import { Hono } from 'hono'
import type { WSContext } from 'hono/ws'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { nodeRuntime } from '../../adapters/node.ts'
import type { ListeningServer } from '../../adapters/runtime.ts'

const servers: ListeningServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function start(configure: (app: Hono, upgrade: ReturnType<typeof nodeRuntime.createServer>['upgradeWebSocket']) => void) {
  const app = new Hono()
  const http = nodeRuntime.createServer(app)
  configure(app, http.upgradeWebSocket)
  const listening = await http.listen({ host: '127.0.0.1', port: 0 })
  servers.push(listening)
  return `ws://127.0.0.1:${listening.port}`
}

interface Received {
  data: Buffer
  isBinary: boolean
}

/** Opens a client that queues what it receives from the first frame on (onOpen may send at once). */
function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket & { next(): Promise<Received> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const queue: Received[] = []
    const waiters: Array<(message: Received) => void> = []
    ws.on('message', (data, isBinary) => {
      const message = { data: data as Buffer, isBinary }
      const waiter = waiters.shift()
      if (waiter) waiter(message)
      else queue.push(message)
    })
    const next = () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise<Received>((r) => waiters.push(r)))
    ws.once('open', () => resolve(Object.assign(ws, { next })))
    ws.once('error', reject)
  })
}

function refusal(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('error', () => {}) // terminate() before an upgrade reports one
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('open', () => reject(new Error('upgraded')))
  })
}

describe('WebSockets on the Node adapter', () => {
  it('lets the route read the upgrade request, then echoes text and binary and reports the close', async () => {
    const closed: Array<{ code: number; reason: string }> = []
    let seenUrl = ''
    const url = await start((app, upgrade) => {
      app.get(
        '/echo',
        upgrade((c) => {
          const who = c.req.query('who') ?? '?'
          const agent = c.req.header('x-agent') ?? '?'
          return {
            onOpen(_event, ws) {
              seenUrl = ws.url?.pathname ?? ''
              ws.send(`hello ${who} from ${agent}, state ${ws.readyState}`)
            },
            onMessage(event, ws) {
              if (typeof event.data === 'string') ws.send(`echo: ${event.data}`)
              else ws.send(new Uint8Array(event.data as ArrayBuffer).reverse())
            },
            onClose(event) {
              closed.push({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason })
            },
          }
        }),
      )
    })
    const ws = await open(`${url}/echo?who=ada`, { 'x-agent': 'a1' })
    expect(String((await ws.next()).data)).toBe('hello ada from a1, state 1')
    expect(seenUrl).toBe('/echo')
    ws.send('hi')
    const text = await ws.next()
    expect([String(text.data), text.isBinary]).toEqual(['echo: hi', false])
    ws.send(Buffer.from([1, 2, 3]))
    const binary = await ws.next()
    expect([[...binary.data], binary.isBinary]).toEqual([[3, 2, 1], true])
    ws.close(4001, 'bye')
    await expect.poll(() => closed).toEqual([{ code: 4001, reason: 'bye' }])
  })

  it('gives middleware and routes a complete Request for an upgrade: headers to iterate, signal, clone', async () => {
    let seen: Record<string, unknown> = {}
    const url = await start((app, upgrade) => {
      app.use('*', async (c, next) => {
        const raw = c.req.raw
        seen = {
          isRequest: raw instanceof Request,
          method: raw.method,
          path: new URL(raw.url).pathname,
          token: c.req.header('Authorization'),
          names: [...raw.headers.keys()].filter((n) => n.startsWith('x-')),
          all: c.req.header()['x-agent'],
          aborted: raw.signal.aborted,
          cloneUrl: raw.clone().url,
        }
        expect(() => raw.headers.set('x-agent', 'other')).toThrow(TypeError)
        await next()
      })
      app.get('/ws', upgrade(() => ({ onOpen: (_e, ws) => ws.send('open') })))
    })
    const ws = await open(`${url}/ws?x=1`, { authorization: 'Bearer k1', 'x-agent': 'a1', 'x-zone': 'z' })
    expect(String((await ws.next()).data)).toBe('open')
    expect(seen).toEqual({ isRequest: true, method: 'GET', path: '/ws', token: 'Bearer k1', names: ['x-agent', 'x-zone'], all: 'a1', aborted: false, cloneUrl: `${url.replace('ws:', 'http:')}/ws?x=1` })
    ws.close()
  })

  it('closes from the server side with a code, and exposes the ws socket as raw', async () => {
    const url = await start((app, upgrade) => {
      app.get(
        '/bye',
        upgrade(() => ({
          onMessage(_event, ws: WSContext) {
            expect(ws.raw).toBeInstanceOf(WebSocket)
            ws.close(4002, 'done')
          },
        })),
      )
    })
    const ws = await open(`${url}/bye`)
    const closing = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.send('x')
    expect(await closing).toBe(4002)
  })

  it('answers a refused upgrade with the route status, and 404 where no route upgrades', async () => {
    const url = await start((app, upgrade) => {
      app.get('/guarded', async (c, next) => {
        if (c.req.header('authorization') !== 'Bearer ok') return c.text('no', 401)
        return upgrade(() => ({}))(c, next)
      })
    })
    expect(await refusal(`${url}/guarded`)).toBe(401)
    expect(await refusal(`${url}/nowhere`)).toBe(404)
    const ws = await open(`${url}/guarded`, { authorization: 'Bearer ok' })
    ws.close()
  })

  it('drops open sockets when the server closes', async () => {
    const app = new Hono()
    const http = nodeRuntime.createServer(app)
    app.get('/idle', http.upgradeWebSocket(() => ({})))
    const listening = await http.listen({ host: '127.0.0.1', port: 0 })
    const ws = await open(`ws://127.0.0.1:${listening.port}/idle`)
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
    await listening.close()
    await closed
  })

  it('keeps nothing of the upgrade request alive once the socket is open', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const requests: Array<WeakRef<object>> = []
    const url = await start((app, upgrade) => {
      app.get(
        '/idle',
        upgrade((c) => {
          requests.push(new WeakRef(c.req.raw), new WeakRef(c))
          return { onMessage() {} }
        }),
      )
    })
    const sockets = await Promise.all(Array.from({ length: 5 }, () => open(`${url}/idle`)))
    await new Promise((resolve) => setTimeout(resolve, 50))
    gc()
    await new Promise((resolve) => setTimeout(resolve, 0))
    gc()
    expect(requests.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
    for (const ws of sockets) ws.close()
  })
})
