#!/usr/bin/env node
// The `thresh` command on Node: runs the compiled CLI (`npm install` builds it via `prepare`).
import { existsSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'

// An agent process (`run --role agent`, and `agent start --foreground`, which the background start and
// systemd run) is an idle, I/O-bound daemon on every node. V8's optimizing compiler only pays off for
// hot code it does not have, and its background compile jobs leave 3–9 MB in glibc's per-thread malloc
// arenas, so the agent runs on V8's interpreter and baseline compiler (measured in bench/RESULTS.md,
// "Agent footprint"). Set before anything else loads; other commands and roles are unaffected.
const args = process.argv.slice(2)
const role = args[0] === 'run' ? (args.find((a) => a.startsWith('--role='))?.slice('--role='.length) ?? args[args.indexOf('--role') + 1]) : undefined
if (role === 'agent' || (args[0] === 'agent' && args[1] === 'start' && args.includes('--foreground'))) setFlagsFromString('--no-opt')

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('[thresh] The compiled CLI is missing: run `npm run build` in the thresh directory.')
  process.exit(1)
}
await import(entry.href)
