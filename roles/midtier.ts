// The mid-tier: holds agents' connections, batches their metrics and routes hub commands to them.
import { defineRole, type RoleDefinition } from '../core/index.ts'

const role: RoleDefinition = defineRole({
  name: 'midtier',
  description: 'agent connections, metric batching and command routing',
  port: 5000,
  plugins: [{ name: 'server-health', load: () => import('../plugins/server-health/index.ts').then((m) => m.default) }],
  fields: {
    hubUrl: { type: 'url', description: 'the hub to connect to' },
    apiKey: { type: 'string', description: 'a thresh_mid_ key for the hub' },
    tlsVerify: { type: 'boolean', description: 'verify the hub certificate', default: true },
    batchInterval: { type: 'duration', description: 'metrics flush interval', default: 5000 },
    batchSize: { type: 'number', description: 'metrics flush size in samples', default: 1000, min: 1 },
  },
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
