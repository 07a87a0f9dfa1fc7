// StoreNotifications on PostgreSQL LISTEN/NOTIFY: one dedicated listening connection per store that
// LISTENs again after the database comes back, publishes through the store's pool, and splits
// payloads over NOTIFY's 8000-byte limit into numbered parts that the listener joins again.
import { createHash, randomBytes } from 'node:crypto'
import { arrayLiteral, type SqlExecutor } from '../../lib/storage/index.ts'
import type { ListenOptions, StoreNotifications, Unlisten } from '../../lib/storage/notifications.ts'

export interface PostgresNotificationsOptions {
  url: string
  /** The store's schema: channels are per database, so each schema gets its own names. */
  schema?: string
  /** The store's pool, for publishing. */
  db: SqlExecutor
  /** Where a lost listening connection is reported. */
  logger?: { warn(message: string): void; info?(message: string): void }
}

/** NOTIFY refuses payloads of 8000 bytes and more; leave room for a part's header. */
const PART_BYTES = 7800
const NOTIFY_BYTES = 8000
const RETRY_MS = [100, 500, 1000, 2000, 5000]
/** A message whose parts did not all arrive by then (the connection dropped in between) is forgotten. */
const PARTIAL_TTL_MS = 60_000

interface Listener {
  onPayload: (payload: string) => void
  options?: ListenOptions
}

/** The database's channel name for ours: namespaced by schema, hashed when longer than an identifier. */
export function channelName(schema: string | undefined, channel: string): string {
  const name = `thresh:${schema ?? ''}:${channel}`
  return Buffer.byteLength(name) <= 63 ? name : `thresh:${createHash('sha256').update(name).digest('hex').slice(0, 48)}`
}

/** `=payload` when it fits one NOTIFY, else `#id:index:count:part` for each part. */
export function encodeParts(payload: string): string[] {
  if (Buffer.byteLength(payload) < PART_BYTES) return [`=${payload}`]
  const parts: string[] = []
  let current = ''
  let bytes = 0
  // Split on code points, so a character of several bytes never straddles two parts.
  for (const ch of payload) {
    const size = Buffer.byteLength(ch)
    if (bytes + size > PART_BYTES) {
      parts.push(current)
      current = ''
      bytes = 0
    }
    current += ch
    bytes += size
  }
  if (current) parts.push(current)
  const id = randomBytes(8).toString('hex')
  return parts.map((part, i) => `#${id}:${i}:${parts.length}:${part}`)
}

/** Joins parts back into payloads; returns a whole payload when its last missing part arrives. */
function createAssembler() {
  const partial = new Map<string, { parts: string[]; received: number; firstAt: number }>()
  return (raw: string, now = Date.now()): string | undefined => {
    if (raw.startsWith('=')) return raw.slice(1)
    const match = /^#([0-9a-f]+):(\d+):(\d+):/.exec(raw)
    if (!match) return undefined
    const [header, id, index, count] = [match[0], match[1]!, Number(match[2]), Number(match[3])]
    for (const [key, entry] of partial) if (now - entry.firstAt > PARTIAL_TTL_MS) partial.delete(key)
    const entry = partial.get(id) ?? { parts: new Array<string>(count), received: 0, firstAt: now }
    partial.set(id, entry)
    if (entry.parts[index] === undefined) entry.received++
    entry.parts[index] = raw.slice(header.length)
    if (entry.received < count) return undefined
    partial.delete(id)
    return entry.parts.join('')
  }
}

export async function createPostgresNotifications(options: PostgresNotificationsOptions): Promise<StoreNotifications> {
  const { default: postgres } = await import('postgres')
  const channels = new Map<string, Set<Listener>>()
  const assemble = createAssembler()
  let closed = false
  let relistening: Promise<void> | undefined

  const deliver = (pgChannel: string, raw: string) => {
    const listeners = channels.get(pgChannel)
    if (!listeners?.size) return
    const payload = assemble(raw)
    if (payload === undefined) return
    for (const listener of [...listeners]) {
      try {
        listener.onPayload(payload)
      } catch (error) {
        options.logger?.warn(`A listener of ${pgChannel} failed: ${(error as Error).message}`)
      }
    }
  }

  // Its own connection: LISTEN holds a session, which a pooled connection cannot give.
  const sql = postgres(options.url, {
    max: 1,
    idle_timeout: null as never,
    max_lifetime: null as never,
    fetch_types: false,
    connect_timeout: 10,
    onnotice: () => {},
    // Both are postgres.js options its typings leave out (its own `listen` is built on them).
    ...({
      onnotify: deliver,
      onclose: () => {
        if (!closed && channels.size) relisten()
      },
    } as object),
  })
  const listenSql = (pgChannel: string) => sql.unsafe(`listen "${pgChannel.replace(/"/g, '""')}"`)

  /** After the listening connection dropped: LISTEN on every channel again, retrying until it holds. */
  function relisten(): void {
    if (relistening) return
    relistening = (async () => {
      options.logger?.warn('Lost the database connection that listens for other hubs; listening again.')
      for (let attempt = 0; !closed; attempt++) {
        try {
          for (const pgChannel of channels.keys()) await listenSql(pgChannel)
          break
        } catch {
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]))
        }
      }
      relistening = undefined
      if (closed) return
      options.logger?.info?.('Listening for other hubs again.')
      for (const listeners of channels.values()) for (const l of listeners) l.options?.onReady?.()
    })()
  }

  return {
    shared: true,
    async publish(channel, payload) {
      const parts = encodeParts(payload)
      const pgChannel = channelName(options.schema, channel)
      // One statement, so a split payload's parts commit together and in order.
      if (parts.length === 1) await options.db.query('select pg_notify($1, $2)', [pgChannel, parts[0]!])
      else await options.db.query('select pg_notify($1, part) from unnest($2::text[]) with ordinality as p(part, n)', [pgChannel, arrayLiteral(parts)])
    },
    async listen(channel, onPayload, listenOptions): Promise<Unlisten> {
      const pgChannel = channelName(options.schema, channel)
      const listener: Listener = { onPayload, options: listenOptions }
      let listeners = channels.get(pgChannel)
      if (!listeners) {
        channels.set(pgChannel, (listeners = new Set()))
        try {
          await listenSql(pgChannel)
        } catch (error) {
          channels.delete(pgChannel)
          throw error
        }
      }
      listeners.add(listener)
      listenOptions?.onReady?.()
      return async () => {
        const set = channels.get(pgChannel)
        if (!set?.delete(listener) || set.size > 0) return
        channels.delete(pgChannel)
        if (!closed) await sql.unsafe(`unlisten "${pgChannel.replace(/"/g, '""')}"`).catch(() => {})
      }
    },
    inStatement(channel, payload) {
      // The one-part form the listener's assembler reads; a statement cannot split a payload into parts.
      const wire = `=${payload}`
      if (Buffer.byteLength(wire) >= NOTIFY_BYTES) throw new Error(`A notification on ${channel} of ${Buffer.byteLength(wire)} bytes does not fit one NOTIFY.`)
      return { channel: channelName(options.schema, channel), payload: wire }
    },
    async close() {
      closed = true
      channels.clear()
      await sql.end({ timeout: 5 })
    },
  }
}
