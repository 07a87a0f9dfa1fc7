// The single-file agent's entry (`dist/thresh-agent.mjs`, `thresh-agent-linux-<arch>`, `thresh build`):
// `thresh-agent [flags]` runs the agent role as `thresh run --role agent` does; `thresh-agent config
// set|get|list|unset` edits $THRESH_HOME/agent.json as `thresh agent config` does. The roles it knows
// are the one the build baked in (lib/build/agent-bundle.ts replaces roles/index.ts).
import { defineCommand, runCommand, runMain } from 'citty'
import process from 'node:process'
import { config } from './commands/agent.ts'
import run from './commands/run.ts'
import { fail } from './fail.ts'
import { version } from '../core/version.ts'

const main = defineCommand({
  meta: { name: 'thresh-agent', version, description: 'The thresh agent as one file: run it (the default), or edit its settings with `config`.' },
  subCommands: { run, config },
})

async function start(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) return void console.log(version)
  if (args[0] !== 'config' && args[0] !== 'run' && (args[0] === '--help' || args[0] === '-h')) return runMain(main, { rawArgs: args })
  // Flags alone mean `run --role agent`; run's flags are read from process.argv, so it gets them too.
  if (args[0] !== 'config') {
    const rest = args[0] === 'run' ? args.slice(1) : args
    const withRole = rest.some((a) => a === '--role' || a.startsWith('--role=')) ? rest : ['--role', 'agent', ...rest]
    process.argv.splice(2, process.argv.length, 'run', ...withRole)
  }
  const rawArgs = process.argv.slice(2)
  if (rawArgs.includes('--help') || rawArgs.includes('-h')) return runMain(main, { rawArgs })
  await runCommand(main, { rawArgs })
}

start().catch((error) => fail(error))
