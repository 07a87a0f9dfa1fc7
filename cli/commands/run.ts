// `thresh run --role hub|midtier|agent`: runs a role in the foreground until SIGINT/SIGTERM. Its flags
// are the role's settings, so `thresh run --role X --help` lists them.
import { defineCommand } from 'citty'
import process from 'node:process'
import { loadRuntime } from '../../adapters/index.ts'
import { describeError } from '../../core/index.ts'
import { loadRole, roleNames } from '../../roles/index.ts'
import { baseFields, roleFields, startRole } from '../../roles/start-role.ts'
import { fail } from '../fail.ts'
import { flagArgs, flagValues, secretsOnCommandLine } from '../role-flags.ts'

/** The role named on this command line, read before citty parses it so its flags can be offered. */
function requestedRole(argv: string[]): string | undefined {
  const at = argv.findIndex((arg) => arg === '--role' || arg.startsWith('--role='))
  if (at < 0) return undefined
  const value = argv[at]!.includes('=') ? argv[at]!.slice('--role='.length) : argv[at + 1]
  return value && roleNames.includes(value) ? value : undefined
}

const fieldsFor = async (role: string | undefined) => (role ? roleFields(await loadRole(role)) : baseFields())

export default defineCommand({
  meta: { name: 'run', description: 'Run a role (hub, midtier or agent) in the foreground; `thresh run --role X --help` lists its settings.' },
  args: async () => ({
    role: { type: 'string', description: roleNames.join(', '), required: true },
    config: { type: 'string', description: 'config file (JSON, or TS/JS exporting defineConfig(...))' },
    ...flagArgs(await fieldsFor(requestedRole(process.argv))),
  }),
  async run({ args, rawArgs }) {
    const runtime = await loadRuntime()
    let running: Awaited<ReturnType<typeof startRole>>
    try {
      const fields = await fieldsFor(args.role)
      const flags = flagValues(args, rawArgs, fields)
      running = await startRole({ role: args.role, configPath: args.config, flags })
      for (const warning of secretsOnCommandLine(flags, fields)) running.logger.warn(warning)
    } catch (error) {
      fail(error)
    }

    let signals = 0
    const shutdown = async (signal: string) => {
      signals += 1
      if (signals > 1) {
        running.logger.warn(`Second ${signal}: exiting without waiting for shutdown.`)
        runtime.exit(130)
      }
      running.logger.info(`${signal} received: shutting down.`)
      try {
        await running.stop(signal)
        runtime.exit(0)
      } catch (error) {
        process.stderr.write(describeError(error) + '\n')
        runtime.exit(1)
      }
    }
    runtime.onSignal('SIGINT', () => void shutdown('SIGINT'))
    runtime.onSignal('SIGTERM', () => void shutdown('SIGTERM'))
  },
})
