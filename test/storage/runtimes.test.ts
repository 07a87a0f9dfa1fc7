// The SQL stores across runtimes and processes: a database Deno wrote opens on Node, a second process
// cannot open an embedded database in use, what was written survives the writer being killed, and
// storage-postgres runs on Deno too.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { createEmbeddedStore } from '../../plugins/storage-embedded/index.ts'
import { denoBin, repoRoot } from '../support/process.ts'
import { databaseUrl } from './database-url.ts'

const run = promisify(execFile)
const script = join(repoRoot, 'test/storage/fixtures/embedded-store-script.ts')

describe('storage-embedded across runtimes', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  it('opens on Deno, and what Deno wrote survives into a Node process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thresh-embedded-deno-'))
    dirs.push(dir)
    const path = join(dir, 'db')
    const { stdout } = await run(denoBin, ['run', '-A', '--config', join(repoRoot, 'deno.json'), script, path, 'write', 'acct-deno'], {
      cwd: repoRoot,
      timeout: 60_000,
    })
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ hostname: 'written-by-deno', cpu: [12.5] })
    const store = await createEmbeddedStore({ path })
    try {
      expect((await store.getNode('acct-deno', 'agent-1'))?.hostname).toBe('written-by-deno')
      expect((await store.getAccount('acct-deno'))?.name).toBe('cross-runtime')
    } finally {
      await store.close()
    }
  }, 90_000)

  it('refuses a second process while one holds the database, and keeps its writes when that process is killed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thresh-embedded-crash-'))
    dirs.push(dir)
    const path = join(dir, 'db')
    const writer = spawn(denoBin, ['run', '-A', '--config', join(repoRoot, 'deno.json'), join(repoRoot, 'test/storage/fixtures/embedded-crash-script.ts'), path, 'acct-crash'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise((resolve) => writer.once('exit', resolve))
    try {
      await new Promise<void>((resolve, reject) => {
        let output = ''
        const timer = setTimeout(() => reject(new Error(`writer did not start: ${output}`)), 60_000)
        const onData = (chunk: Buffer) => {
          output += chunk
          if (output.includes('written')) {
            clearTimeout(timer)
            resolve()
          }
        }
        writer.stdout!.on('data', onData)
        writer.stderr!.on('data', (chunk: Buffer) => (output += chunk))
        writer.once('exit', (code) => reject(new Error(`writer exited ${code}: ${output}`)))
      })
      await expect(createEmbeddedStore({ path })).rejects.toMatchObject({ code: 'storage_locked', message: expect.stringContaining(`pid ${writer.pid}`) })
    } finally {
      writer.kill('SIGKILL')
      await exited
    }
    const store = await createEmbeddedStore({ path })
    try {
      expect((await store.getAccount('acct-crash'))?.name).toBe('survives-a-crash')
    } finally {
      await store.close()
    }
  }, 90_000)

  it('runs storage-postgres on Deno', async () => {
    const schema = `thresh_deno_${randomBytes(6).toString('hex')}`
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      const { stdout } = await run(
        denoBin,
        ['run', '-A', '--config', join(repoRoot, 'deno.json'), join(repoRoot, 'test/storage/fixtures/postgres-store-script.ts'), databaseUrl, schema],
        { cwd: repoRoot, timeout: 60_000 },
      )
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ hostname: 'deno-host', cpu: [33], last: 33 })
    } finally {
      await sql.unsafe(`drop schema if exists "${schema}" cascade`)
      await sql.end()
    }
  }, 90_000)
})
