// The storage conformance suite against storage-postgres, on the machine's PostgreSQL in a schema of
// its own (dropped afterwards) so it runs beside other suites.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { createPostgresStore } from '../../plugins/storage-postgres/index.ts'
import { describeStore } from './conformance.ts'
import { databaseUrl } from './database-url.ts'

describeStore('postgres', () => {
  const schema = `thresh_store_${randomBytes(6).toString('hex')}`
  return {
    durable: true,
    open: () => createPostgresStore({ databaseUrl, schema, max: 4 }),
    async destroy() {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
      await sql.unsafe(`drop schema if exists "${schema}" cascade`)
      await sql.end()
    },
  }
})

describe('postgres: node lookups beside the latest-report write-back', () => {
  const schema = `thresh_lookup_${randomBytes(6).toString('hex')}`
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { search_path: schema } })
  afterAll(async () => {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
  })

  it('finds a node by id or hostname with its newest sample while the write-back is blocked, and the write lands after', async () => {
    const store = await createPostgresStore({ databaseUrl, schema, max: 4, latestFlushMs: 3_600_000 })
    try {
      const now = new Date().toISOString()
      await store.createAccount({ id: 'acct-lookup', name: 'lookup', createdAt: now })
      await store.upsertNode({ id: 'agent-lookup', accountId: 'acct-lookup', hostname: 'lookup-host', cpuCores: 2, ramTotalGb: 4, diskTotalGb: 20, lastSeenAt: '2020-01-01T00:00:00.000Z', registeredAt: now })
      const at = new Date(Date.now() - 1000).toISOString()
      await store.appendMetrics('acct-lookup', [{ agentId: 'agent-lookup', timestamp: at, cpuPercent: 42, memoryUsedMB: 1, memoryTotalMB: 2, diskUsedGB: 1, diskTotalGB: 2, containersRunning: 0 }])
      // Another session holds the nodes table against writes (a long maintenance or migration does
      // this for real): the write-back of the latest report waits behind it until it is released below.
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      let locked!: () => void
      const lockTaken = new Promise<void>((resolve) => (locked = resolve))
      const held = sql.begin(async (tx) => {
        await tx.unsafe('lock table nodes in exclusive mode')
        locked()
        await released
      })
      await lockTaken
      const writeBack = store.flush!()
      const byName = await store.findNode('acct-lookup', 'lookup-host')
      const byId = await store.getNode('acct-lookup', 'agent-lookup')
      expect(byName).toMatchObject({ id: 'agent-lookup', status: 'online', lastMetrics: { cpuPercent: 42, timestamp: at } })
      expect(byId?.lastMetrics).toMatchObject({ cpuPercent: 42 })
      expect(Date.parse(byId!.lastSeenAt)).toBeGreaterThan(Date.parse('2021-01-01T00:00:00.000Z'))
      release()
      await held
      await writeBack
      const [row] = await sql.unsafe(`select r.report->>'cpuPercent' as cpu from node_reports r join nodes n on n.key = r.node_key where n.id = 'agent-lookup'`)
      expect(Number(row!.cpu)).toBe(42)
      // Other accounts do not see it.
      expect(await store.findNode('acct-other', 'lookup-host')).toBeUndefined()
    } finally {
      await store.close()
    }
  })
})
