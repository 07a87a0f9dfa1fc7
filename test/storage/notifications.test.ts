// Store notifications: what one hub process publishes, every other hub on the same PostgreSQL hears
// (split and joined again past NOTIFY's size limit, heard again after the connection drops); stores
// one process holds alone deliver inside that process.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { notificationsOf, type FleetStore } from '../../lib/storage/index.ts'
import { createMemoryStore } from '../../plugins/storage-memory/index.ts'
import { createPostgresStore } from '../../plugins/storage-postgres/index.ts'
import { databaseUrl } from './database-url.ts'

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('store notifications on PostgreSQL', () => {
  const schema = `thresh_notify_${randomBytes(6).toString('hex')}`
  const otherSchema = `${schema}_other`
  const stores: FleetStore[] = []
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  const open = async (s = schema) => {
    const store = await createPostgresStore({ databaseUrl, schema: s, max: 2 })
    stores.push(store)
    return store
  }
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => {})
    await admin.unsafe(`drop schema if exists "${schema}" cascade`)
    await admin.unsafe(`drop schema if exists "${otherSchema}" cascade`)
    await admin.end()
  })

  it('a payload published by one hub reaches every hub on the same database, its own included, and no hub of another schema', async () => {
    const [a, b, stranger] = [await open(), await open(), await open(otherSchema)]
    expect(notificationsOf(a).shared).toBe(true)
    const heard = { a: [] as string[], b: [] as string[], stranger: [] as string[] }
    await notificationsOf(a).listen('fleet', (p) => heard.a.push(p))
    await notificationsOf(b).listen('fleet', (p) => heard.b.push(p))
    await notificationsOf(stranger).listen('fleet', (p) => heard.stranger.push(p))
    await notificationsOf(a).publish('fleet', 'node web-1 is online')
    await until('both hubs to hear it', () => heard.a.length === 1 && heard.b.length === 1)
    expect(heard.b).toEqual(['node web-1 is online'])
    // The stranger's schema is another fleet: a publish of its own arrives, ours never did.
    await notificationsOf(stranger).publish('fleet', 'stranger')
    await until('the stranger to hear its own', () => heard.stranger.length === 1)
    expect(heard.stranger).toEqual(['stranger'])
    expect(heard.b).toEqual(['node web-1 is online'])
  })

  it('a payload far over the 8000-byte NOTIFY limit, multibyte characters included, arrives whole', async () => {
    const [a, b] = [await open(), await open()]
    const heard: string[] = []
    await notificationsOf(b).listen('big', (p) => heard.push(p))
    const payload = JSON.stringify({ containers: Array.from({ length: 1000 }, (_, i) => ({ name: `svc-${i}-ünïcødé-✓-🚀`, cpu: i })) })
    expect(Buffer.byteLength(payload)).toBeGreaterThan(30_000)
    await Promise.all([notificationsOf(a).publish('big', payload), notificationsOf(a).publish('big', 'small one')])
    await until('both payloads', () => heard.length === 2)
    expect(heard.sort((x, y) => x.length - y.length)).toEqual(['small one', payload])
  })

  it('after the listening connection is killed, the listener is told it is ready again and hears what follows', async () => {
    const [a, b] = [await open(), await open()]
    const heard: string[] = []
    let ready = 0
    const channel = `drop-${randomBytes(3).toString('hex')}`
    await notificationsOf(b).listen(channel, (p) => heard.push(p), { onReady: () => ready++ })
    expect(ready).toBe(1)
    // Kill the backend(s) listening on this channel, as a database restart or a failover would.
    const killed = await admin.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where query like $1`, [`listen "thresh:${schema}:${channel}"%`])
    expect(killed.length).toBeGreaterThan(0)
    await until('the listener to be ready again', () => ready >= 2)
    await notificationsOf(a).publish(channel, 'after the drop')
    await until('the payload after the drop', () => heard.includes('after the drop'))
  })
})

describe('store notifications on a store one process holds alone', () => {
  it('deliver inside the process, the same channels for every caller of the same store', async () => {
    const store = createMemoryStore()
    const notifications = notificationsOf(store)
    expect(notifications.shared).toBe(false)
    expect(notificationsOf(store)).toBe(notifications)
    const heard: string[] = []
    const unlisten = await notificationsOf(store).listen('fleet', (p) => heard.push(p))
    await notifications.publish('fleet', 'hello')
    await until('the payload', () => heard.length === 1)
    await unlisten()
    await notifications.publish('fleet', 'unheard')
    await new Promise((resolve) => setImmediate(resolve))
    expect(heard).toEqual(['hello'])
  })
})
