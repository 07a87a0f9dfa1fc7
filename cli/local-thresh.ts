// A thresh without a server, for commands that use plugins' services in-process (`thresh stack` with
// no hub): the plugins are set up as a role would set them up, used for one command, then closed.
import { loadRuntime } from '../adapters/index.ts'
import { createThresh, ThreshError, type ServerCapabilities, type Thresh, type ThreshConfig, type ThreshPlugin } from '../core/index.ts'
import { createLogger } from '../lib/logger.ts'
import { threshHome } from './credentials.ts'

// Nothing listens, so a plugin that asks for WebSockets is a mistake in the plugin list, said plainly.
const noWebSockets = (() => {
  throw new ThreshError({ code: 'no_server', message: 'This command runs no server: its plugins cannot serve WebSockets.' })
}) as unknown as ServerCapabilities['upgradeWebSocket']

/** Sets `plugins` up in order; `close()` tears them down in reverse, as `thresh run` would. */
export async function startLocalThresh(plugins: ThreshPlugin[]): Promise<Thresh> {
  const [{ Hono }, runtime] = await Promise.all([import('hono'), loadRuntime()])
  const dataDir = threshHome()
  const config: ThreshConfig = { role: 'cli', host: '127.0.0.1', port: 0, tls: { enabled: false }, dataDir, logLevel: 'warn', plugins: [], disable: [], pluginOptions: {} }
  const thresh = createThresh({
    role: 'cli',
    config,
    plugins,
    server: { app: new Hono(), upgradeWebSocket: noWebSockets, url: '', tls: false },
    runtime: runtime.info,
    logger: createLogger(config.logLevel),
    dataDir,
  })
  await thresh.setup()
  return thresh
}
