// The embedded store on both runtimes: a database Deno wrote opens on Node with the same data.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createEmbeddedStore } from '../../plugins/storage-embedded/index.ts'
import { denoBin, repoRoot } from '../support/process.ts'

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
})
