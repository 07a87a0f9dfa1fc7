#!/usr/bin/env node
// The `thresh` command on Node: runs the compiled CLI (`npm install` builds it via `prepare`).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('[thresh] The compiled CLI is missing: run `npm run build` in the thresh directory.')
  process.exit(1)
}
await import(entry.href)
