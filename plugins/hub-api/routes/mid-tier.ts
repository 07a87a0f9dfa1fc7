// mid-tier: what a mid-tier asks the hub with its own thresh_mid_ key.
import { arr, bool, obj, str } from '../schema.ts'
import { bad, ok } from './params.ts'
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
  {
    method: 'post',
    path: '/api/v1/midtier/certificate',
    summary: "For mid-tiers: a serving certificate signed by the fleet CA for the names and addresses agents reach it at (--advertise)",
    description: 'Agents pinned to the fleet CA trust the mid-tier with no extra step. The mid-tier asks again well before notAfter.',
    tag: 'mid-tier',
    scope: 'mid',
    body: obj({ names: arr(str({ maxLength: 253 })) }, ['names']),
    status: 200,
    response: obj({ certificate: str({ description: 'the certificate followed by the fleet CA, PEM' }), key: str(), fingerprint: str(), notAfter: str({ format: 'date-time' }) }),
    async handle({ body, services }) {
      const { names } = body as { names: string[] }
      if (names.length === 0 || names.length > 64) throw bad('names: give between 1 and 64 host names or addresses.')
      let issued
      try {
        issued = await services.fleetCa.issue(names, MIDTIER_CERT_DAYS)
      } catch (error) {
        throw bad((error as Error).message)
      }
      return ok({ certificate: issued.cert, key: issued.key, fingerprint: issued.fingerprint, notAfter: issued.notAfter!.toISOString() })
    },
  },
]

/** Mid-tier certificates are short-lived: the mid-tier renews them at two thirds of their life. */
export const MIDTIER_CERT_DAYS = 90
