// The dashboard's in-browser stack validator as the hub serves it, from dist/ and straight from the
// TypeScript sources: every module it imports is served too, and it runs without Node APIs.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadAssets } from '../../plugins/hub-ui/assets.ts'
import { repoRoot } from '../support/process.ts'

/** A package root with the sources but no dist/, as a clone run by Deno looks. */
function sourceOnlyRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'thresh-validator-src-'))
  for (const dir of ['hub-ui', 'lib', 'core']) symlinkSync(join(repoRoot, dir), join(root, dir))
  return root
}

const validatorFiles = (files: Map<string, unknown>) => [...files.keys()].filter((path) => /^(stack|core)\//.test(path))

describe.each([
  { from: 'dist', root: () => repoRoot },
  { from: 'typescript', root: sourceOnlyRoot },
])('the stack validator served from $from', ({ from, root }) => {
  it('serves every module the validator imports', async () => {
    const bundle = await loadAssets(root())
    expect(bundle.validator).toBe(from)
    for (const path of validatorFiles(bundle.files)) {
      const code = new TextDecoder().decode(bundle.files.get(path)!.body)
      for (const [, specifier] of code.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
        expect(specifier, `${path} imports a package or a .ts file`).toMatch(/^\.\.?\/.*\.js$/)
        expect([...bundle.files.keys()], `${path} imports ${specifier}`).toContain(posix.join(posix.dirname(path), specifier!))
      }
    }
  })

  it('validates a stack whose healthcheck is written the Compose way', async () => {
    const bundle = await loadAssets(root())
    const out = mkdtempSync(join(tmpdir(), 'thresh-validator-'))
    writeFileSync(join(out, 'package.json'), '{"type":"module"}')
    for (const path of validatorFiles(bundle.files)) {
      mkdirSync(dirname(join(out, path)), { recursive: true })
      writeFileSync(join(out, path), bundle.files.get(path)!.body)
    }
    const { parseStack } = await import(pathToFileURL(join(out, 'stack/parse.js')).href)
    const result = parseStack({
      name: 'web',
      services: { app: { image: 'nginx:1', healthcheck: { test: 'curl -f localhost', interval: '1m30s', timeout: '5s', start_period: '500ms' } } },
    })
    expect(result.ok).toBe(true)
    expect(result.stack.services[0].healthcheck).toMatchObject({ intervalMs: 90_000, timeoutMs: 5000, startPeriodMs: 500 })
  })
})
