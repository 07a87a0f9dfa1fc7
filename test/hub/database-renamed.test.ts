// A hub on PostgreSQL whose database is renamed away at runtime (an operator's mistake, a failover
// script): the API answers 503 storage_unavailable, /health says Degraded, and both recover once the
// database has its name back. The hub is given its URL as --database-url-file, as production should.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { tempHome } from '../support/process.ts'
import { eventually, startHub, type TestHub } from './support.ts'

requireTool('postgres')

const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} })
const name = `thresh_renamed_${randomBytes(4).toString('hex')}`
const away = `${name}_away`
let hub: TestHub | undefined

/** Renames a database nobody may connect to meanwhile (PostgreSQL refuses to rename one in use). */
async function rename(from: string, to: string): Promise<void> {
  await admin.unsafe(`alter database "${from}" allow_connections false`)
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${from} and pid <> pg_backend_pid()`
  await admin.unsafe(`alter database "${from}" rename to "${to}"`)
  await admin.unsafe(`alter database "${to}" allow_connections true`)
}

afterAll(async () => {
  await hub?.stop()
  for (const db of [name, away]) await admin.unsafe(`drop database if exists "${db}" with (force)`)
  await admin.end()
})

describe('a hub whose database is renamed away while it runs', () => {
  it('answers 503 storage_unavailable and reports Degraded on /health until the database is back', async () => {
    await admin.unsafe(`create database "${name}"`)
    const home = tempHome('thresh-hub-renamed-')
    const urlFile = join(home, 'database-url')
    writeFileSync(urlFile, `postgres://postgres@127.0.0.1:5432/${name}\n`, { mode: 0o600 })
    hub = await startHub({ storage: 'postgres', home, config: { databaseUrl: undefined, databaseUrlFile: urlFile } })
    expect(readFileSync(`/proc/${hub.proc.child.pid}/cmdline`, 'utf8')).not.toContain('postgres://')

    const token = await hub.login()
    expect((await hub.request('GET', '/api/stacks', { token })).status).toBe(200)
    const healthy = await hub.request('GET', '/health')
    expect(healthy).toMatchObject({ status: 200, body: { status: 'Healthy' } })

    await rename(name, away)
    const stacks = (await eventually(async () => {
      const reply = await hub!.request('GET', '/api/stacks', { token })
      return reply.status === 200 ? undefined : reply
    }, 15_000, 'the API to notice the database is gone'))!
    expect(stacks.status).toBe(503)
    expect(stacks.body).toEqual({ error: 'storage_unavailable', message: 'The hub cannot reach its database right now; try again shortly.' })
    const nodes = await hub.request('GET', '/api/nodes', { token })
    expect(nodes.status).toBe(503)
    const degraded = await hub.request('GET', '/health')
    expect(degraded.status).toBe(503)
    expect(degraded.body).toEqual({ status: 'Degraded', checks: { storage: { status: 'Unhealthy', message: 'The hub cannot reach its database right now; try again shortly.' } } })
    expect(JSON.stringify(degraded.body)).not.toContain(name)

    await rename(away, name)
    await eventually(async () => (await hub!.request('GET', '/api/stacks', { token })).status === 200, 15_000, 'the API to serve again')
    expect(await hub.request('GET', '/health')).toMatchObject({ status: 200, body: { status: 'Healthy' } })
    expect(hub.proc.output()).not.toMatch(/\b500\b.*api\/stacks/)
  }, 90_000)
})
