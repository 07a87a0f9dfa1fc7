// The mid-tier: holds agents' connections, batches their metrics and routes hub commands to them.
import { defineRole, type RoleDefinition } from '../core/index.ts'

const role: RoleDefinition = defineRole({
  name: 'midtier',
  description: 'agent connections, metric batching and command routing',
  port: 5000,
  plugins: [
    { name: 'server-health', load: () => import('../plugins/server-health/index.ts').then((m) => m.default) },
    { name: 'transport-signalr', load: () => import('../plugins/transport-signalr/index.ts').then((m) => m.default) },
    { name: 'midtier-relay', load: () => import('../plugins/midtier-relay/index.ts').then((m) => m.default) },
    { name: 'transport-rest-poll', load: () => import('../plugins/transport-rest-poll/index.ts').then((m) => m.default) },
  ],
  fields: {
    hubUrl: { type: 'url', description: 'the hub to connect to' },
    apiKey: { type: 'string', description: 'a thresh_mid_ key for the hub' },
    tlsVerify: { type: 'boolean', description: 'verify the hub certificate', default: true },
    batchInterval: { type: 'duration', description: 'metrics flush interval', default: 5000 },
    batchSize: { type: 'number', description: 'metrics flush size in samples', default: 1000, min: 1 },
    bufferSize: { type: 'number', description: 'most metric samples held while the hub is unreachable (oldest dropped first)', default: 100_000, min: 1 },
    keyCacheTtl: { type: 'duration', description: 'how long a hub answer about an agent key is trusted (at most 60 s)', default: 60_000 },
    commandTimeout: { type: 'duration', description: 'a command for an agent offline this long gets an error result', default: 30_000 },
    drainTimeout: { type: 'duration', description: 'longest wait on shutdown to send buffered metrics', default: 10_000 },
    midtierId: { type: 'string', description: 'the name this mid-tier gives the hub (default: a stable random id)' },
    journal: { type: 'boolean', description: 'keep what the hub has not received on disk, so a crash loses nothing', default: true },
  },
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
