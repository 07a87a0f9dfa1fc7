// A server busy for longer than its timeouts (a mid-tier taking back a whole fleet at once after a
// restart) must not time out a client whose handshake arrived in time but was not read yet: before,
// the timeouts were checked first when the event loop came back and such agents were turned away.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSignalRTestServer, type TestServer } from '../fixtures/signalr-server.ts'
import { mapTestHub } from '../fixtures/signalr-test-hub.ts'

// The client on its own thread, so it sends while the server's thread is blocked; it raises a flag
// shared with the test once its handshake is handed to the kernel.
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads')
const WebSocket = require(workerData.ws)
const sent = new Int32Array(workerData.shared)
const ws = new WebSocket(workerData.url)
let received = ''
ws.on('open', () => parentPort.postMessage({ open: true }))
ws.on('message', (data) => parentPort.postMessage({ received: (received += data.toString()) }))
ws.on('close', (code) => parentPort.postMessage({ closed: code, received }))
parentPort.on('message', () => ws.send('{"protocol":"json","version":1}\\x1e', () => (Atomics.store(sent, 0, 1), Atomics.notify(sent, 0))))
`
// Long enough that the hops before the handshake (worker start, messages between threads) never use it up
// on a loaded machine: only the block below may outlast it.
const HANDSHAKE_TIMEOUT_MS = 2000

let server: TestServer
beforeAll(async () => {
  server = await startSignalRTestServer({ handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, heartbeatMs: 25 }, (signalr) => void mapTestHub(signalr))
})
afterAll(async () => {
  await server.close()
})

describe('a server busier than its timeouts', () => {
  it('reads a handshake that arrived while it was blocked before checking the handshake timeout', async () => {
    const shared = new SharedArrayBuffer(4)
    const worker = new Worker(CLIENT, { eval: true, workerData: { shared, url: `${server.url.replace('http', 'ws')}/testhub`, ws: createRequire(import.meta.url).resolve('ws') } })
    try {
      const messages: Array<{ open?: boolean; received?: string; closed?: number }> = []
      const next = (test: (m: (typeof messages)[number]) => boolean) =>
        new Promise<(typeof messages)[number]>((resolve) => {
          const found = messages.find(test)
          if (found) return resolve(found)
          const on = (m: (typeof messages)[number]) => test(m) && (worker.off('message', on), resolve(m))
          worker.on('message', on)
        })
      worker.on('message', (m) => messages.push(m))
      await next((m) => m.open === true)
      // The connection is attached and its handshake clock runs. Block this thread (as a busy event
      // loop does) until the client has sent its handshake, and then past the handshake timeout.
      worker.postMessage('handshake')
      // (The client may have sent before this line: then the flag is already up and there is no wait.)
      const flag = new Int32Array(shared)
      Atomics.wait(flag, 0, 0, 60_000)
      expect(Atomics.load(flag, 0)).toBe(1)
      const until = Date.now() + 2 * HANDSHAKE_TIMEOUT_MS
      while (Date.now() < until) {
        // busy, like a loop accepting thousands of connections in one turn
      }
      const answer = await next((m) => m.received !== undefined || m.closed !== undefined)
      expect(answer.received).toBe('{}\x1e')
    } finally {
      await worker.terminate()
    }
  })
})
