// The agent: runs on every node, reports metrics and executes commands; serves its live status on a
// Unix socket in THRESH_HOME (no port to collide), or on a loopback port with --status-port.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineRole, ThreshError, type ConfigSource, type PluginFactory, type RoleDefinition } from '../core/index.ts'

const load = (module: Promise<{ default: PluginFactory }>) => module.then((m) => m.default)

/**
 * `$THRESH_HOME/agent.json`, written by `thresh agent config set`, as the weakest config source: under
 * the config file, env and flags. Keys that are not settings (agentId) belong to their readers.
 */
export function agentJsonLayer(dataDir: string): ConfigSource[] {
  const path = join(dataDir, 'agent.json')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return []
    throw new ThreshError({ code: 'config_unreadable', message: `Cannot read ${path}: ${(error as Error).message}`, cause: error })
  }
  try {
    return [{ name: path, data: JSON.parse(text), fromText: true, ignoreUnknown: true }]
  } catch (cause) {
    throw new ThreshError({ code: 'config_invalid', message: `${path} is not valid JSON; fix it or set the keys again with thresh agent config set.`, cause })
  }
}

const role: RoleDefinition = defineRole({
  name: 'agent',
  description: 'node metrics and command execution',
  port: 7300,
  plugins: [
    { name: 'server-health', load: () => load(import('../plugins/server-health/index.ts')) },
    // The connection first: its settings lead `thresh agent config list`; it asks for system-metrics only once running.
    { name: 'agent-connection', load: () => load(import('../plugins/agent-connection/index.ts')) },
    { name: 'metrics-system', load: () => load(import('../plugins/metrics-system/index.ts')) },
    // The proxies first: runtime-docker picks up the `proxy` (Traefik) and `proxy-caddy` services when they are there.
    { name: 'runtime-traefik', load: () => load(import('../plugins/runtime-traefik/index.ts')) },
    { name: 'runtime-caddy', load: () => load(import('../plugins/runtime-caddy/index.ts')) },
    { name: 'runtime-docker', load: () => load(import('../plugins/runtime-docker/index.ts')) },
    { name: 'agent-events', load: () => load(import('../plugins/agent-events/index.ts')) },
    { name: 'agent-commands', load: () => load(import('../plugins/agent-commands/index.ts')) },
    { name: 'agent-status', load: () => load(import('../plugins/agent-status/index.ts')) },
  ],
  defaults: { host: '127.0.0.1', tls: { enabled: false }, statusSocket: 'agent.sock' },
  fields: {
    statusSocket: { type: 'string', description: 'the Unix socket, in THRESH_HOME, that serves the status for thresh agent status', env: false },
    statusPort: { type: 'number', description: 'serve the status on this loopback TCP port instead of a Unix socket (platforms without them; scraping /metrics)', min: 0, max: 65535 },
  },
  layers: agentJsonLayer,
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
