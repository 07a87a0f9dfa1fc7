// The agent: runs on every node, reports metrics and executes commands; serves its live status on loopback.
import { defineRole, type RoleDefinition } from '../core/index.ts'

const role: RoleDefinition = defineRole({
  name: 'agent',
  description: 'node metrics and command execution',
  port: 7300,
  plugins: [{ name: 'server-health', load: () => import('../plugins/server-health/index.ts').then((m) => m.default) }],
  defaults: { host: '127.0.0.1', tls: { enabled: false } },
  fields: {
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
  },
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
