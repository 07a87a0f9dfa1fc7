// Versioned migrations on PostgreSQL: hubs starting together on an empty schema migrate it once, and
// a restart applies nothing twice.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { migrations } from '../../lib/storage/index.ts'
import { createPostgresStore } from '../../plugins/storage-postgres/index.ts'
import { databaseUrl } from './database-url.ts'

describe('storage migrations', () => {
  const schema = `thresh_migrate_${randomBytes(6).toString('hex')}`
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  afterAll(async () => {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
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
})
