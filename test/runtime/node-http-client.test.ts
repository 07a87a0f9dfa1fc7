// The Node SignalR HttpClient (the mid-tier's key validation and negotiate with its hub): an answer
// that arrived while the process was too busy to read it is taken, not thrown away as a timeout. A
// mid-tier taking back a whole fleet after a restart is busy for seconds with every agent waiting on
// one key validation; a spurious timeout there turned thousands of reconnecting agents away with 503.
import * as signalR from '@microsoft/signalr'
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeHttpClient } from '../../adapters/node-http-client.ts'

// A server on its own thread: it tells the test when a request arrived, answers `holdMs` later, and
// raises a flag shared with the test once the answer is handed to the kernel.
const SERVER = `
const { parentPort, workerData } = require('node:worker_threads')
const { createServer } = require('node:http')
const flag = new Int32Array(workerData.shared)
const server = createServer((req, res) => {
  parentPort.postMessage({ received: true })
  setTimeout(() => {
    res.on('finish', () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0) })
    res.end('{"valid":true}')
  }, workerData.holdMs)
})
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }))
`

const workers: Worker[] = []
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
})

function startServer(holdMs: number) {
  const shared = new SharedArrayBuffer(4)
  const worker = new Worker(SERVER, { eval: true, workerData: { shared, holdMs } })
  workers.push(worker)
  const received = new Promise<void>((resolve) => worker.on('message', (m: { received?: boolean }) => m.received && resolve()))
  const port = new Promise<number>((resolve) => worker.on('message', (m: { port?: number }) => m.port && resolve(m.port)))
  /** Blocks this thread (as a busy event loop does) until the server has written its answer. */
  const blockUntilAnswered = () => Atomics.wait(new Int32Array(shared), 0, 0, 60_000)
  return { port, received, blockUntilAnswered }
}

describe('NodeHttpClient timeouts', () => {
  it('takes an answer that came in while the event loop was busy past the timeout', async () => {
    // The server answers 1.5 s after the request: past the client's 1 s timeout, but while this thread
    // is blocked, so the answer is waiting in the socket when the loop gets back to the request.
    const server = startServer(1500)
    const client = new NodeHttpClient()
    const answer = client.post(`http://127.0.0.1:${await server.port}/validate`, { content: '{}', timeout: 1000 })
    await server.received
    expect(server.blockUntilAnswered()).toBe('ok')
    const response = await answer
    expect(response.statusCode).toBe(200)
    expect(response.content).toBe('{"valid":true}')
  })

  it('still times out when no answer comes', async () => {
    const server = startServer(60_000)
    const client = new NodeHttpClient()
    await expect(client.post(`http://127.0.0.1:${await server.port}/validate`, { content: '{}', timeout: 300 })).rejects.toBeInstanceOf(signalR.TimeoutError)
  })
})
