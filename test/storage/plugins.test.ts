// The storage plugins as a hub runs them: each provides `storage`, the embedded one keeps its
// database in <dataDir>/db across restarts, and a database that cannot be reached is one clear sentence.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { createThresh, describeError, type ThreshPlugin } from '../../core/index.ts'
import { createLogger } from '../../lib/logger.ts'
import { migrations } from '../../lib/storage/index.ts'
import storageEmbedded from '../../plugins/storage-embedded/index.ts'
import storageMemory from '../../plugins/storage-memory/index.ts'
import storagePostgres from '../../plugins/storage-postgres/index.ts'
import { databaseUrl } from './database-url.ts'

function hub(plugin: ThreshPlugin, dataDir: string, config: Record<string, unknown> = {}) {
  return createThresh({
    role: 'hub',
    config: { role: 'hub', host: '127.0.0.1', port: 0, tls: { enabled: false }, dataDir, logLevel: 'silent', plugins: [], disable: [], pluginOptions: {}, ...config },
    plugins: [plugin],
    server: { app: new Hono(), upgradeWebSocket: (() => {}) as never, url: '', tls: false },
    runtime: { name: 'node', version: process.versions.node },
    logger: createLogger('silent'),
    dataDir,
  })
}

describe('storage plugins', () => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup()
  })

  it('storage-embedded keeps the hub state in <dataDir>/db across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'thresh-plugin-embedded-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const first = hub(storageEmbedded(), dataDir)
    await first.setup()
    await first.use('storage').createAccount({ id: 'acct-1', name: 'home', createdAt: new Date().toISOString() })
    expect(first.use('storage').kind).toBe('embedded')
    await first.close()
    expect(existsSync(join(dataDir, 'db'))).toBe(true)
    const second = hub(storageEmbedded(), dataDir)
    await second.setup()
    expect((await second.use('storage').getAccount('acct-1'))?.name).toBe('home')
    await second.close()
  }, 120_000)

  it('storage-postgres takes databaseUrl from config and a schema from its options', async () => {
    const schema = `thresh_plugin_${randomBytes(6).toString('hex')}`
    cleanups.push(async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
      await sql.unsafe(`drop schema if exists "${schema}" cascade`)
      await sql.end()
    })
    const thresh = hub(storagePostgres({ schema }), tmpdir(), { databaseUrl })
    await thresh.setup()
    const store = thresh.use('storage')
    expect(store.kind).toBe('postgres')
    await store.createAccount({ id: 'acct-pg', name: 'prod', createdAt: new Date().toISOString() })
    await store.ping?.()
    await thresh.close()
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      const rows = await sql.unsafe(`select version from "${schema}".thresh_migrations order by version`)
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version))
      expect((await sql.unsafe(`select name from "${schema}".accounts`)).map((r) => r.name)).toEqual(['prod'])
    } finally {
      await sql.end()
    }
  })

  it('storage-postgres refuses to start on an unreachable database with one sentence and no password', async () => {
    const thresh = hub(storagePostgres(), tmpdir(), { databaseUrl: 'postgres://thresh:s3cret@127.0.0.1:1/none' })
    const error = await thresh.setup().then(() => undefined, (e: unknown) => e)
    const cause = (error as { cause?: unknown }).cause ?? error
    expect(cause).toMatchObject({ code: 'storage_unavailable', status: 503, plugin: 'storage-postgres' })
    expect(describeError(error)).toMatch(/^\[thresh\] \[storage-postgres\] .*Could not open PostgreSQL at postgres:\/\/thresh:\*\*\*@127\.0\.0\.1:1\/none/)
    expect(describeError(error)).not.toContain('s3cret')
  })

  it('storage-memory provides a store that starts empty', async () => {
    const thresh = hub(storageMemory(), tmpdir())
    await thresh.setup()
    expect(thresh.use('storage').kind).toBe('memory')
    expect(await thresh.use('storage').listAccounts()).toEqual([])
    await thresh.close()
  })
})
