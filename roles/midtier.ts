// The mid-tier: holds agents' connections, batches their metrics and routes hub commands to them.
import { defineRole, type PluginFactory, type RoleDefinition } from '../core/index.ts'

const load = (module: Promise<{ default: PluginFactory }>) => module.then((m) => m.default)

const role: RoleDefinition = defineRole({
  name: 'midtier',
  description: 'agent connections, metric batching and command routing',
  port: 5000,
  plugins: [
    { name: 'server-health', load: () => load(import('../plugins/server-health/index.ts')) },
    { name: 'transport-signalr', load: () => load(import('../plugins/transport-signalr/index.ts')) },
    { name: 'agent-gateway', load: () => load(import('../plugins/agent-gateway/index.ts')) },
    { name: 'midtier-relay', load: () => load(import('../plugins/midtier-relay/index.ts')) },
    { name: 'transport-rest-poll', load: () => load(import('../plugins/transport-rest-poll/index.ts')) },
  ],
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
