// The storage conformance suite against storage-embedded (PGlite in a temporary directory).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEmbeddedStore } from '../../plugins/storage-embedded/index.ts'
import { describeStore } from './conformance.ts'

describeStore('embedded', () => {
  let dir: string | undefined
  return {
    durable: true,
    async open() {
      dir ??= await mkdtemp(join(tmpdir(), 'thresh-embedded-'))
      return createEmbeddedStore({ path: join(dir, 'db') })
    },
    async destroy() {
      if (dir) await rm(dir, { recursive: true, force: true })
    },
  }
})
