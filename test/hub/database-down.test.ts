// When PostgreSQL goes away under a running hub, the API answers 503 with {error, message} instead of
// failing obscurely, and serves again once the database is back.
import { createServer, connect, type Server, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { dropSchema, eventually, startHub, type TestHub } from './support.ts'

requireTool('postgres')

/** A TCP relay to the local PostgreSQL that the test can cut and restore. */
function relay(port: number) {
  let server: Server | undefined
  const sockets = new Set<Socket>()
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(5432, '127.0.0.1')
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => {})
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => resolve())
    })
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server?.close(() => resolve())
    })
  return { open, cut }
}

let hub: TestHub | undefined
afterAll(async () => {
  await hub?.stop()
  await dropSchema(hub?.schema)
})

describe('a hub whose database goes down', () => {
  it('answers 503 storage_unavailable while PostgreSQL is unreachable, and recovers when it returns', async () => {
    const port = await freePort()
    const db = relay(port)
    await db.open()
    hub = await startHub({ storage: 'postgres', config: { databaseUrl: `postgres://postgres@127.0.0.1:${port}/test` } })
    const token = await hub.login()
    expect((await hub.request('GET', '/api/stacks', { token })).status).toBe(200)

    await db.cut()
    // Credentials are cached for a few seconds; a fresh login needs the database.
    const login = await hub.request('POST', '/api/auth/login', { body: { username: 'admin', password: 'x' } })
    expect(login.status).toBe(503)
    expect(login.body).toEqual({ error: 'storage_unavailable', message: 'The hub cannot reach its database right now; try again shortly.' })
    const stacks = await hub.request('GET', '/api/stacks', { token })
    expect(stacks.status).toBe(503)

    await db.open()
    await eventually(async () => (await hub!.request('GET', '/api/stacks', { token })).status === 200, 15_000, 'the hub to serve again')
  }, 60_000)
})
