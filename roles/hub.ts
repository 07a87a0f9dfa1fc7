// The hub: the fleet's state, the REST API, the dashboard, and an embedded mid-tier for agents.
import { defineRole, type RoleDefinition } from '../core/index.ts'

const role: RoleDefinition = defineRole({
  name: 'hub',
  description: 'fleet state, REST API, dashboard, and an embedded mid-tier',
  port: 7200,
  plugins: [{ name: 'server-health', load: () => import('../plugins/server-health/index.ts').then((m) => m.default) }],
  fields: {
    storage: { type: 'string', description: 'where fleet state lives', default: 'embedded', oneOf: ['embedded', 'postgres', 'memory'] },
    databaseUrl: { type: 'url', description: 'PostgreSQL URL (postgres://...); selects storage postgres' },
  },
})

// Not `export default defineRole(...)`: tsc leaves `.ts` in dynamic imports inside an exported call.
export default role
