// The agent: runs on every node, reports metrics and executes commands; serves its live status on loopback.
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { defineRole, resolveConfig, type ConfigFields, type RoleDefinition } from '../core/index.ts'

const fields: ConfigFields = {
  midtierUrl: { type: 'url', description: 'the mid-tier or hub to connect to' },
  fallbackUrl: { type: 'url', description: 'where to go when the primary is unreachable' },
  apiKey: { type: 'string', description: 'a thresh_live_ agent key' },
  fallbackApiKey: { type: 'string', description: 'the key for the fallback' },
  tlsVerify: { type: 'boolean', description: 'verify server certificates', default: true },
  transport: { type: 'string', description: 'auto, signalr or rest', default: 'auto', oneOf: ['auto', 'signalr', 'rest'] },
  autoFailover: { type: 'boolean', description: 'move to the fallback when the primary is down', default: false },
  failbackDelay: { type: 'duration', description: 'wait before going back to the primary', default: 300_000 },
  metricsInterval: { type: 'duration', description: 'how often metrics are sent', default: 30_000 },
  reconnectDelay: { type: 'duration', description: 'wait between reconnect attempts', default: 5_000 },
  nodeName: { type: 'string', description: 'the name this node reports' },
}

/**
 * `$THRESH_HOME/agent.json`, written by `thresh agent config set` with CONTRACT §7's kebab-case keys,
 * as the weakest config source: role defaults sit under the config file, env and flags. Keys that are
 * not config fields (agent-id) are left to their readers.
 */
export function agentJsonDefaults(home: string = process.env.THRESH_HOME || join(homedir(), '.thresh')): Record<string, unknown> {
  const path = join(home, 'agent.json')
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return {}
    data = readFileSync(path, 'utf8') // not JSON: let resolveConfig say so below
  }
  const known = new Set(Object.keys(fields))
  const picked =
    data && typeof data === 'object' && !Array.isArray(data)
      ? Object.fromEntries(Object.entries(data).filter(([key, value]) => known.has(key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())) && value !== null && value !== ''))
      : data
  const withoutDefaults = Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, { ...field, default: undefined }]))
  const resolved = resolveConfig({ fields: withoutDefaults, file: { path, data: picked } })
  return Object.fromEntries(Object.entries(resolved).filter(([, value]) => value !== undefined))
}

const load = (name: string, importer: () => Promise<{ default: unknown }>) => ({ name, load: () => importer().then((m) => m.default as never) })

const role: RoleDefinition = defineRole({
  name: 'agent',
  description: 'node metrics and command execution',
  port: 7300,
  plugins: [
    load('server-health', () => import('../plugins/server-health/index.ts')),
    // The proxy first: runtime-docker picks up the `proxy` service when it is there.
    load('runtime-traefik', () => import('../plugins/runtime-traefik/index.ts')),
    load('runtime-docker', () => import('../plugins/runtime-docker/index.ts')),
    load('metrics-system', () => import('../plugins/metrics-system/index.ts')),
    load('agent-connection', () => import('../plugins/agent-connection/index.ts')),
    load('agent-commands', () => import('../plugins/agent-commands/index.ts')),
    load('agent-status', () => import('../plugins/agent-status/index.ts')),
  ],
  // A getter: agent.json is read at each start, so `thresh agent config set` applies on restart.
  get defaults() {
    return { host: '127.0.0.1', tls: { enabled: false }, ...agentJsonDefaults() }
  },
  fields,
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
