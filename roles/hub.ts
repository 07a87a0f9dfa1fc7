// The hub: the fleet's state, the REST API, the dashboard, and an embedded mid-tier for agents.
import { defineRole, type PluginFactory, type RoleDefinition, type ThreshConfig } from '../core/index.ts'

const load = (module: Promise<{ default: PluginFactory }>) => module.then((m) => m.default)

/** `storage` decides; a database URL alone selects PostgreSQL (CONTRACT §1), unless `memory` was asked for. */
export function storagePlugin(config: ThreshConfig): 'memory' | 'postgres' | 'embedded' {
  if (config.storage === 'memory') return 'memory'
  if (config.storage === 'postgres' || typeof config.databaseUrl === 'string') return 'postgres'
  return 'embedded'
}

const role: RoleDefinition = defineRole({
  name: 'hub',
  description: 'fleet state, REST API, dashboard, and an embedded mid-tier',
  port: 7200,
  plugins: [
    { name: 'server-health', load: () => load(import('../plugins/server-health/index.ts')) },
    {
      name: 'storage',
      load: (config) => {
        const kind = storagePlugin(config)
        if (kind === 'memory') return load(import('../plugins/storage-memory/index.ts'))
        if (kind === 'postgres') return load(import('../plugins/storage-postgres/index.ts'))
        return load(import('../plugins/storage-embedded/index.ts'))
      },
    },
    { name: 'hub-auth', load: () => load(import('../plugins/hub-auth/index.ts')) },
    { name: 'transport-signalr', load: () => load(import('../plugins/transport-signalr/index.ts')) },
    { name: 'hub-fleet', load: () => load(import('../plugins/hub-fleet/index.ts')) },
    { name: 'transport-rest-poll', load: () => load(import('../plugins/transport-rest-poll/index.ts')) },
    { name: 'hub-api', load: () => load(import('../plugins/hub-api/index.ts')) },
    { name: 'hub-ui', load: () => load(import('../plugins/hub-ui/index.ts')) },
  ],
  fields: {
    storage: { type: 'string', description: 'where fleet state lives', default: 'embedded', oneOf: ['embedded', 'postgres', 'memory'] },
    databaseUrl: { type: 'url', description: 'PostgreSQL URL (postgres://...); selects storage postgres' },
    metricsRetention: { type: 'object', description: 'how long metrics are kept, in ms per resolution: {rawMs, minuteMs, quarterHourMs}', env: false },
    adminUser: { type: 'string', description: "name of the admin user created on first start", default: 'admin' },
    adminPassword: { type: 'string', description: 'password of that admin user (default: generated and printed once)' },
    sessionTtl: { type: 'duration', description: 'how long a login session lasts', default: 7 * 24 * 3600_000 },
    keyRotationGrace: { type: 'duration', description: 'how long a rotated key keeps working', default: 24 * 3600_000 },
    offlineAfter: { type: 'duration', description: 'a node that reported nothing for this long is offline (3 metric intervals)', default: 90_000 },
    staleAfter: { type: 'duration', description: 'an offline node not seen for this long is removed', default: 24 * 3600_000 },
    commandTimeout: { type: 'duration', description: 'how long the hub waits for a node to answer a command', default: 300_000 },
  },
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
