// keys: agent and mid-tier keys; a secret appears only in the response that creates it.
import { arr, obj, str } from '../schema.ts'
import { agentInstallCommand } from '../../../lib/install-command.ts'
import { ok } from './params.ts'
import type { RouteDef } from './route-def.ts'

const keyView = obj({
  id: str(),
  type: str({ enum: ['agent', 'midtier'] }),
  name: str(),
  prefix: str({ description: 'the first characters of the key, never the whole key' }),
  status: str({ enum: ['active', 'expiring', 'expired', 'revoked'] }),
  createdAt: str({ format: 'date-time' }),
  revokedAt: str({ format: 'date-time', nullable: true }),
  expiresAt: str({ format: 'date-time', nullable: true }),
  rotatedTo: str({ nullable: true }),
})
const createdKey = obj({
  id: str(),
  key: str({ description: 'the secret, shown only in this response' }),
  type: str(),
  name: str(),
  createdAt: str({ format: 'date-time' }),
  caFingerprint: str({ description: "the fleet CA's fingerprint: what the agent or mid-tier pins (hub-fingerprint, --hub-fingerprint)" }),
  installCommand: str({ description: 'agent keys: the one command that installs an agent with this key on a node and waits until it is online' }),
})

export const keyRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/keys',
    summary: 'List agent and mid-tier keys (never their secrets)',
    tag: 'keys',
    scope: 'cli',
    role: 'admin',
    status: 200,
    response: obj({ keys: arr(keyView) }),
    async handle({ principal, services }) {
      return ok({ keys: await services.auth.listKeys(principal!.accountId) })
    },
  },
  {
    method: 'post',
    path: '/api/keys',
    summary: 'Create a key; the secret is in this response only',
    tag: 'keys',
    scope: 'cli',
    role: 'admin',
    body: obj({ type: str({ enum: ['agent', 'midtier'] }), name: str({ minLength: 1, maxLength: 100 }) }, ['type', 'name']),
    status: 201,
    response: createdKey,
    async handle({ principal, body, services, publicUrl }) {
      const created = await services.auth.createKey(principal!, body as { type: 'agent' | 'midtier'; name: string })
      const caFingerprint = services.fleetCa.fingerprint
      if (created.type !== 'agent') return ok({ ...created, caFingerprint }, 201)
      // Over https the node pins the fleet CA; a plain-http hub (behind a proxy) has nothing to pin.
      const installCommand = agentInstallCommand({ hubUrl: publicUrl, key: created.key, ...(publicUrl.startsWith('https:') ? { fingerprint: caFingerprint } : {}) })
      return ok({ ...created, caFingerprint, installCommand }, 201)
    },
  },
  {
    method: 'delete',
    path: '/api/keys/{id}',
    summary: "Revoke a key: it stops working at once and its open connections are closed",
    tag: 'keys',
    scope: 'cli',
    role: 'admin',
    status: 200,
    response: keyView,
    async handle({ principal, params, services }) {
      return ok(await services.auth.revokeKey(principal!, params.id!))
    },
  },
  {
    method: 'post',
    path: '/api/keys/{id}/rotate',
    summary: 'Rotate a key: a new secret now, the old one valid for the grace period',
    tag: 'keys',
    scope: 'cli',
    role: 'admin',
    bodyOptional: true,
    status: 201,
    async handle({ principal, params, services }) {
      return ok(await services.auth.rotateKey(principal!, params.id!), 201)
    },
  },
]
