// audit: the commands sent to nodes and the audit log of who did what.
import { ThreshError } from '../../../core/index.ts'
import { int } from '../schema.ts'
import { limit, ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

export const auditRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/commands',
    summary: 'Recent commands sent to nodes, with status and result',
    tag: 'audit',
    scope: 'cli',
    role: 'viewer',
    query: { limit: int({ minimum: 1, maximum: 1000 }) },
    status: 200,
    async handle({ principal, query, services }) {
      return ok({ commands: await services.fleet.listCommands(principal!.accountId, limit(query.limit)) })
    },
  },
  {
    method: 'get',
    path: '/api/commands/{id}',
    summary: 'One command with its status and result',
    tag: 'audit',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    async handle({ principal, params, services }) {
      const command = await services.fleet.getCommand(principal!.accountId, params.id!)
      if (!command) throw new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-api', message: `No command ${params.id} in this account.` })
      return ok(command)
    },
  },
  {
    method: 'get',
    path: '/api/audit',
    summary: 'The audit log: who logged in, changed keys, deployed, updated, destroyed',
    tag: 'audit',
    scope: 'cli',
    role: 'admin',
    query: { limit: int({ minimum: 1, maximum: 1000 }) },
    status: 200,
    async handle({ principal, query, services }) {
      return ok({ entries: await services.audit.list(principal!.accountId, limit(query.limit)) })
    },
  },
]
