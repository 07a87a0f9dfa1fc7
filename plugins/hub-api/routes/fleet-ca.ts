// tls: the hub's fleet CA, which every client pins by its fingerprint. Public on purpose: a client
// checks what it downloads against the fingerprint it was given, never the other way round.
import { obj, str } from '../schema.ts'
import { ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

export const fleetCaRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/install/ca.pem',
    summary: "The fleet CA certificate (PEM); its fingerprint is sha256 over its DER bytes: sed '/-----/d' ca.pem | base64 -d | sha256sum",
    tag: 'tls',
    scope: 'none',
    status: 200,
    async handle({ services }) {
      return { status: 200, body: null, text: services.fleetCa.certificate, headers: { 'content-type': 'application/x-pem-file', 'cache-control': 'no-cache' } }
    },
  },
  {
    method: 'get',
    path: '/api/tls',
    summary: "The fleet CA's fingerprint, for clients to pin (thresh auth login --fingerprint, --hub-fingerprint, hub-fingerprint)",
    tag: 'tls',
    scope: 'none',
    status: 200,
    response: obj({ fingerprint: str({ description: 'sha256: + lowercase hex of SHA-256 over the CA certificate DER' }), caUrl: str() }),
    async handle({ services }) {
      return ok({ fingerprint: services.fleetCa.fingerprint, caUrl: '/install/ca.pem' })
    },
  },
]
