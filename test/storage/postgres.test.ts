// The storage conformance suite against storage-postgres, on the machine's PostgreSQL in a schema of
// its own (dropped afterwards) so it runs beside other suites.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
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
