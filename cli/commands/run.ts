// `thresh run --role hub|midtier|agent`: runs a role in the foreground until SIGINT/SIGTERM.
import { defineCommand } from 'citty'
import { loadRuntime } from '../../adapters/index.ts'
import { startRole } from '../../adapters/start-role.ts'
import { describeError } from '../../core/index.ts'
import process from 'node:process'
import { fail } from '../fail.ts'

export default defineCommand({
  meta: { name: 'run', description: 'Run a role (hub, midtier or agent) in the foreground.' },
  args: {
    role: { type: 'string', description: 'hub, midtier or agent', required: true },
    config: { type: 'string', description: 'config file (JSON, or TS/JS exporting defineConfig(...))' },
    port: { type: 'string', description: 'port to listen on' },
    host: { type: 'string', description: 'address to listen on' },
    tls: { type: 'boolean', description: 'serve HTTPS (--no-tls for plain HTTP behind a proxy)' },
    'database-url': { type: 'string', description: 'PostgreSQL URL for the hub (postgres://...)' },
    storage: { type: 'string', description: 'hub storage: embedded, postgres or memory' },
    'hub-url': { type: 'string', description: 'mid-tier: the hub to connect to' },
    'api-key': { type: 'string', description: 'mid-tier: a thresh_mid_ key' },
  },
  async run({ args, rawArgs }) {
    const flags: Record<string, unknown> = {}
    if (args.port !== undefined) {
      const port = Number(args.port)
      flags.port = Number.isInteger(port) ? port : args.port
    }
    if (args.host !== undefined) flags.host = args.host
    if (rawArgs.includes('--no-tls') || rawArgs.includes('--tls=false')) flags.tls = false
    else if (rawArgs.includes('--tls')) flags.tls = true
    for (const name of ['database-url', 'storage', 'hub-url', 'api-key'] as const) {
      if (args[name] !== undefined) flags[name] = args[name]
    }

    const runtime = await loadRuntime()
    let running: Awaited<ReturnType<typeof startRole>>
    try {
      running = await startRole({ role: args.role, configPath: args.config, flags })
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
