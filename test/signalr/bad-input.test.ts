// Hostile or broken clients: each bad connection is closed or refused with the right error, and the
// server keeps serving a well-behaved client throughout.
import * as signalR from '@microsoft/signalr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { negotiateAndOpen, RS } from '../fixtures/signalr-raw-client.ts'
import { startSignalRTestServer, type TestServer } from '../fixtures/signalr-server.ts'
import { mapTestHub } from '../fixtures/signalr-test-hub.ts'

let server: TestServer
let bystander: signalR.HubConnection

beforeAll(async () => {
  server = await startSignalRTestServer(
    { maxMessageSize: 4096, handshakeTimeoutMs: 300, disconnectTimeoutMs: 1500, maxPendingNegotiations: 20, heartbeatMs: 25 },
    (signalr) => void mapTestHub(signalr),
  )
  bystander = new signalR.HubConnectionBuilder()
    .withUrl(`${server.url}/testhub`, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build()
  await bystander.start()
})
afterAll(async () => {
  await bystander.stop()
  await server.close()
})

async function connected() {
  const socket = await negotiateAndOpen(server.url, '/testhub')
  socket.send(`{"protocol":"json","version":1}${RS}`)
  expect(await socket.next()).toBe(`{}${RS}`)
  return socket
}

async function expectClosedWithError(payload: string, error: string) {
  const socket = await connected()
  socket.send(payload)
  const close = JSON.parse((await socket.next()).slice(0, -1)) as { type: number; error: string }
  expect(close.type).toBe(7)
  expect(close.error).toContain(error)
  await socket.closed
  expect(await bystander.invoke('Echo', 'still serving')).toBe('still serving')
}

describe('bad input closes only the offending connection', () => {
  it('closes a connection that sends malformed JSON', async () => {
    await expectClosedWithError(`{"type":1,"target":${RS}`, 'Error reading JSON.')
  })

  it('closes a connection that sends an unknown message type', async () => {
    await expectClosedWithError(`{"type":99}${RS}`, 'Unknown message type: 99.')
  })

  it('closes a connection that sends fields of the wrong type', async () => {
    await expectClosedWithError(`{"type":1,"invocationId":"1","target":5,"arguments":[]}${RS}`, "Expected 'target' to be of type string.")
    await expectClosedWithError(`{"type":1,"invocationId":"1","target":"Echo","arguments":"x"}${RS}`, "Expected 'arguments' to be of type array.")
    await expectClosedWithError(`{"type":3,"invocationId":"s1","result":1,"error":"x"}${RS}`, 'mutually exclusive')
    await expectClosedWithError(`[1,2,3]${RS}`, 'Expected a JSON object.')
  })

  it('closes a connection whose message exceeds the maximum size, even before its separator arrives', async () => {
    await expectClosedWithError(`{"type":1,"target":"Echo","arguments":["${'x'.repeat(5000)}"]}${RS}`, 'The maximum message size of 4096B was exceeded.')
    await expectClosedWithError(`{"type":1,"target":"Echo","arguments":["${'y'.repeat(5000)}`, 'The maximum message size of 4096B was exceeded.')
  })

  it('answers a garbage handshake with an error and closes', async () => {
    for (const garbage of [`\u0000\u0001garbage${RS}`, `{"protocol":1}${RS}`, `[]${RS}`]) {
      const socket = await negotiateAndOpen(server.url, '/testhub')
      socket.send(garbage)
      expect(JSON.parse((await socket.next()).slice(0, -1))).toHaveProperty('error')
      await socket.closed
    }
    expect(await bystander.invoke('Echo', 'ok')).toBe('ok')
  })

  it('cancels a handshake that trickles in too slowly or grows too large', async () => {
    const slow = await negotiateAndOpen(server.url, '/testhub')
    const drip = setInterval(() => slow.ws.readyState === 1 && slow.send(' '), 50)
    expect(await slow.next(2000)).toBe(`{"error":"Handshake was canceled."}${RS}`)
    await slow.closed
    clearInterval(drip)
    const huge = await negotiateAndOpen(server.url, '/testhub')
    huge.send(`{"protocol":"json","version":1,"pad":"${'z'.repeat(5000)}"`)
    expect(await huge.next()).toBe(`{"error":"Handshake was canceled."}${RS}`)
    await huge.closed
  })

  it('refuses a flood of negotiations with 429 while serving existing clients, then recovers', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      statuses.push((await fetch(`${server.url}/testhub/negotiate?negotiateVersion=1`, { method: 'POST' })).status)
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(20)
    expect(statuses).toContain(429)
    expect(await bystander.invoke('Echo', 'during flood')).toBe('during flood')
    // Unused negotiations expire after the disconnect timeout, making room again.
    await expect
      .poll(async () => (await fetch(`${server.url}/testhub/negotiate?negotiateVersion=1`, { method: 'POST' })).status, { timeout: 8000 })
      .toBe(200)
  })

  it('ignores results for unknown client-result ids and keeps the connection', async () => {
    const socket = await connected()
    socket.send(`{"type":3,"invocationId":"s999","result":1}${RS}{"type":2,"invocationId":"nope","item":1}${RS}{"type":5,"invocationId":"nope"}${RS}{"type":1,"invocationId":"1","target":"Echo","arguments":["alive"]}${RS}`)
    expect(await socket.next()).toBe(`{"type":3,"invocationId":"1","result":"alive"}${RS}`)
    socket.ws.close()
  })
})
