// mid-tier: what a mid-tier asks the hub with its own thresh_mid_ key.
import { bool, obj, str } from '../schema.ts'
import { ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

export const midTierRoutes: RouteDef[] = [
  {
    method: 'post',
    path: '/api/v1/keys/validate',
    summary: "For mid-tiers: is this agent key valid, and in the mid key's account?",
    tag: 'mid-tier',
    scope: 'mid',
    body: obj({ key: str({ maxLength: 512 }) }, ['key']),
    status: 200,
    response: obj({ valid: bool(), account_id: str({ nullable: true }), key_id: str() }),
    async handle({ principal, body, services }) {
      return ok(await services.auth.validateAgentKey(principal!, (body as { key: string }).key))
    },
  },
]
