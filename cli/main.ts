#!/usr/bin/env -S deno run -A
// The `thresh` command: citty with lazily loaded sub-commands, the same on Node and Deno.
import { defineCommand, runCommand, runMain } from 'citty'
import process from 'node:process'
import { fail } from './fail.ts'
import { version } from '../core/version.ts'

const lazy = (load: () => Promise<{ default: unknown }>) => () => load().then((m) => m.default as never)

export const main = defineCommand({
  meta: { name: 'thresh', version, description: 'A fleet manager for container hosts.' },
  subCommands: {
    run: lazy(() => import('./commands/run.ts')),
    stack: lazy(() => import('./commands/stack.ts')),
    agent: lazy(() => import('./commands/agent.ts')),
    auth: lazy(() => import('./commands/auth.ts')),
    node: lazy(() => import('./commands/node.ts')),
    container: lazy(() => import('./commands/container.ts')),
    image: lazy(() => import('./commands/image.ts')),
    volume: lazy(() => import('./commands/volume.ts')),
    cluster: lazy(() => import('./commands/cluster.ts')),
    events: lazy(() => import('./commands/events.ts')),
    alert: lazy(() => import('./commands/alert.ts')),
    keys: lazy(() => import('./commands/keys.ts')),
    user: lazy(() => import('./commands/user.ts')),
    build: lazy(() => import('./commands/build.ts')),
    admin: lazy(() => import('./commands/admin.ts')),
    storage: lazy(() => import('./commands/storage.ts')),
  },
})

const rawArgs = process.argv.slice(2)
if (rawArgs.length === 0 || rawArgs.some((arg) => arg === '--help' || arg === '-h') || (rawArgs.length === 1 && (rawArgs[0] === '--version' || rawArgs[0] === '-v'))) {
  await runMain(main, { rawArgs })
} else {
  try {
    await runCommand(main, { rawArgs })
  } catch (error) {
    fail(error)
  }
}
