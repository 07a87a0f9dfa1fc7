// The hub: the fleet's state, the REST API, the dashboard, and an embedded mid-tier for agents.
import { defineRole, type PluginFactory, type RoleDefinition, type ThreshConfig } from '../core/index.ts'

const load = (module: Promise<{ default: PluginFactory }>) => module.then((m) => m.default)

/** `storage` decides; a database URL (or a file holding one) alone selects PostgreSQL (CONTRACT §1), unless `memory` was asked for. */
export function storagePlugin(config: Readonly<ThreshConfig>): 'storage-memory' | 'storage-postgres' | 'storage-embedded' {
  if (config.storage === 'memory') return 'storage-memory'
  if (config.storage === 'postgres' || typeof config.databaseUrl === 'string' || typeof config.databaseUrlFile === 'string') return 'storage-postgres'
  return 'storage-embedded'
}

const role: RoleDefinition = defineRole({
  name: 'hub',
  description: 'fleet state, REST API, dashboard, and an embedded mid-tier',
  port: 7200,
  // Its gauges count every account's nodes and stacks: shown only to a scraper with the metricsToken.
  defaults: { publicMetrics: 'process' },
  plugins: [
    { name: 'server-health', load: () => load(import('../plugins/server-health/index.ts')) },
    {
      name: 'storage',
      from: {
        'storage-embedded': () => load(import('../plugins/storage-embedded/index.ts')),
        'storage-postgres': () => load(import('../plugins/storage-postgres/index.ts')),
        'storage-memory': () => load(import('../plugins/storage-memory/index.ts')),
      },
      choose: storagePlugin,
    },
    { name: 'hub-auth', load: () => load(import('../plugins/hub-auth/index.ts')) },
    { name: 'transport-signalr', load: () => load(import('../plugins/transport-signalr/index.ts')) },
    { name: 'agent-gateway', load: () => load(import('../plugins/agent-gateway/index.ts')) },
    { name: 'hub-fleet', load: () => load(import('../plugins/hub-fleet/index.ts')) },
    { name: 'transport-rest-poll', load: () => load(import('../plugins/transport-rest-poll/index.ts')) },
    { name: 'hub-alerts', load: () => load(import('../plugins/hub-alerts/index.ts')) },
    { name: 'hub-api', load: () => load(import('../plugins/hub-api/index.ts')) },
    { name: 'hub-ui', load: () => load(import('../plugins/hub-ui/index.ts')) },
    { name: 'hub-install', load: () => load(import('../plugins/hub-install/index.ts')) },
  ],
  fields: {
    storage: { type: 'string', description: 'where fleet state lives (a database URL alone selects postgres)', oneOf: ['embedded', 'postgres', 'memory'] },
    advertise: { type: 'list', description: 'extra host names and addresses clients reach the hub at, put in its certificate (this machine\'s own are always there)', default: [] },
  },
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
