// Versioned migrations on PostgreSQL: hubs starting together on an empty schema migrate it once, and
// a restart applies nothing twice.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { migrations } from '../../lib/storage/index.ts'
import { createPostgresExecutor } from '../../plugins/storage-postgres/postgres-executor.ts'
import { createPostgresStore } from '../../plugins/storage-postgres/index.ts'
import { databaseUrl } from './database-url.ts'

describe('storage migrations', () => {
  const schema = `thresh_migrate_${randomBytes(6).toString('hex')}`
  const oldSchema = `thresh_migrate_old_${randomBytes(6).toString('hex')}`
  const usersSchema = `thresh_migrate_users_${randomBytes(6).toString('hex')}`
  const reportsSchema = `thresh_migrate_reports_${randomBytes(6).toString('hex')}`
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  afterAll(async () => {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.unsafe(`drop schema if exists "${oldSchema}" cascade`)
    await sql.unsafe(`drop schema if exists "${usersSchema}" cascade`)
    await sql.unsafe(`drop schema if exists "${reportsSchema}" cascade`)
    await sql.end()
  })

  it('migrates an empty database once when three hubs start at the same moment, and not again on restart', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => createPostgresStore({ databaseUrl, schema, max: 2 })))
    await Promise.all(stores.map((s) => s.close()))
    const again = await createPostgresStore({ databaseUrl, schema, max: 1 })
    await again.close()
    const rows = await sql.unsafe(`select version, name from "${schema}".thresh_migrations order by version`)
    expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version))
  })

  it('keeps 15-minute history written before the per-day layout (migration 2)', async () => {
    const db = await createPostgresExecutor({ url: databaseUrl, schema: oldSchema, max: 1 })
    await db.exec(`create table thresh_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`)
    await db.exec(migrations[0]!.sql)
    await db.query(`insert into thresh_migrations (version, name) values (1, 'v1')`)
    await db.query(`insert into accounts values ('acct', 'old', now())`)
    await db.query(`insert into nodes (account_id, id, hostname, status, last_seen_at, registered_at) values ('acct', 'n1', 'old-host', 'online', now(), now())`)
    const bucket = Math.floor(Date.now() / 900_000) * 900_000 - 2 * 900_000
    await db.query(
      `insert into metrics_15m select key, $1::text::timestamptz, 30, 42, 80, 1000, 2000, 10, 20, 3 from nodes where id = 'n1'`,
      [new Date(bucket).toISOString()],
    )
    await db.query(`update metrics_rollup_state set done_until = now()`)
    await db.close()

    const store = await createPostgresStore({ databaseUrl, schema: oldSchema, max: 1 })
    try {
      const series = await store.queryMetrics('acct', 'n1', { from: new Date(bucket - 3_600_000), to: new Date(), resolution: '15m' })
      expect(series.points).toEqual([expect.objectContaining({ at: new Date(bucket).toISOString(), samples: 30, cpuPercent: 42, cpuMax: 80 })])
    } finally {
      await store.close()
    }
  })

  it('makes each account admin of an older hub its owner, and the first one keeps the power to create accounts (migration 4)', async () => {
    const db = await createPostgresExecutor({ url: databaseUrl, schema: usersSchema, max: 1 })
    await db.exec(`create table thresh_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`)
    for (const m of migrations.filter((m) => m.version < 4)) {
      await db.exec(m.sql)
      await db.query('insert into thresh_migrations (version, name) values ($1, $2)', [m.version, m.name])
    }
    await db.query(`insert into accounts values ('first', 'default', now()), ('second', 'team', now())`)
    await db.query(`insert into users (id, account_id, username, password_hash, roles, created_at) values
      ('u1', 'first', 'admin', 'x', '["admin","owner"]', now()), ('u2', 'second', 'team-admin', 'x', '["admin"]', now())`)
    await db.close()

    const store = await createPostgresStore({ databaseUrl, schema: usersSchema, max: 1 })
    try {
      expect((await store.getUser('first', 'u1'))?.roles).toEqual(['owner', 'hub-owner'])
      expect((await store.getUser('second', 'u2'))?.roles).toEqual(['owner'])
    } finally {
      await store.close()
    }
  })

  it("keeps each node's latest report and last-seen time when reports move to a table of their own (migration 16)", async () => {
    const db = await createPostgresExecutor({ url: databaseUrl, schema: reportsSchema, max: 1 })
    await db.exec(`create table thresh_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`)
    for (const m of migrations.filter((m) => m.version < 16)) {
      await db.exec(m.sql)
      await db.query('insert into thresh_migrations (version, name) values ($1, $2)', [m.version, m.name])
    }
    const seen = new Date(Date.now() - 5000).toISOString()
    const report = { agentId: 'reporting', timestamp: new Date(Date.now() - 6000).toISOString(), cpuPercent: 37, memoryUsedMB: 100 }
    await db.query(`insert into accounts values ('acct', 'old', now())`)
    await db.query(
      `insert into nodes (account_id, id, hostname, status, last_seen_at, registered_at, last_metrics)
       values ('acct', 'reporting', 'reporting-host', 'online', $1, now(), $2::text::jsonb), ('acct', 'silent', 'silent-host', 'offline', $1, now(), null)`,
      [seen, JSON.stringify(report)],
    )
    await db.close()

    const store = await createPostgresStore({ databaseUrl, schema: reportsSchema, max: 1 })
    try {
      expect(await store.getNode('acct', 'reporting')).toMatchObject({ status: 'online', lastSeenAt: seen, lastMetrics: report })
      const silent = await store.findNode('acct', 'silent-host')
      expect(silent).toMatchObject({ id: 'silent', status: 'offline', lastSeenAt: seen })
      expect(silent?.lastMetrics).toBeUndefined()
      // A newer sample replaces the migrated report; the node list shows it.
      const at = new Date().toISOString()
      await store.appendMetrics('acct', [{ agentId: 'reporting', timestamp: at, cpuPercent: 55, memoryUsedMB: 1, memoryTotalMB: 2, diskUsedGB: 1, diskTotalGB: 2, containersRunning: 0 }])
      await store.flush!()
      const listed = (await store.listNodes('acct')).find((n) => n.id === 'reporting')
      expect(listed?.lastMetrics).toMatchObject({ cpuPercent: 55, timestamp: at })
    } finally {
      await store.close()
    }
  })
})
