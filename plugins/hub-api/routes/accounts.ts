// accounts: the hub owner's list of accounts and the creation of new ones.
import { obj, str } from '../schema.ts'
import { ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

export const accountRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/accounts',
    summary: 'List accounts (hub owner only)',
    tag: 'accounts',
    scope: 'cli',
    role: 'owner',
    hubOwner: true,
    status: 200,
    async handle({ principal, services }) {
      return ok({ accounts: await services.auth.listAccounts(principal!) })
    },
  },
  {
    method: 'post',
    path: '/api/accounts',
    summary: 'Create an account and its admin user (hub owner only)',
    description: 'The admin password is generated unless given, and returned only here.',
    tag: 'accounts',
    scope: 'cli',
    role: 'owner',
    hubOwner: true,
    body: obj({ name: str({ minLength: 1, maxLength: 100 }), adminUser: str({ minLength: 1, maxLength: 100 }), adminPassword: str({ minLength: 8, maxLength: 1024 }) }, ['name', 'adminUser']),
    status: 201,
    async handle({ principal, body, services }) {
      const b = body as { name: string; adminUser: string; adminPassword?: string }
      const created = await services.auth.createAccount(principal!, b)
      return ok({ account: created.account, userName: created.userName, password: created.password }, 201)
    },
  },
]
