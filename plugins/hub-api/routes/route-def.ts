// The shape of one hub API endpoint as data (method, path, scope, schemas, handler): the same table
// mounts the routes and writes /api/openapi.json.
import type { AccountRole } from '../../../lib/auth/roles.ts'
import type { AuditLog, AuthService, Principal, UsersService } from '../../hub-auth/index.ts'
import type { FleetService } from '../../hub-fleet/index.ts'
import type { AlertsService } from '../../hub-alerts/index.ts'
import type { Schema } from '../schema.ts'
import type { TlsMaterial } from '../../../lib/tls.ts'

export type Scope = 'cli' | 'mid' | 'none'

/** The hub's fleet CA: what clients pin, and what signs mid-tiers' serving certificates. */
export interface FleetCaService {
  /** `sha256:` + hex of SHA-256 over the CA certificate's DER bytes. */
  fingerprint: string
  /** The CA certificate, PEM. */
  certificate: string
  issue(names: string[], days?: number): Promise<TlsMaterial>
}

export interface Services {
  auth: AuthService
  audit: AuditLog
  fleet: FleetService
  users: UsersService
  fleetCa: FleetCaService
  /** Absent on a hub without the hub-alerts plugin (its routes answer 503). */
  alerts?: AlertsService
}

export interface RouteInput {
  principal: Principal | undefined
  params: Record<string, string>
  query: Record<string, string | undefined>
  body: unknown
  services: Services
  request: Request
  ip: string | undefined
  /** Where people reach the hub (`publicUrl`, else the address this request came in on): for links. */
  publicUrl: string
}

export interface Reply {
  status: number
  body: unknown
  /** An already serialised JSON body (hot cached reads). */
  json?: string
  headers?: Record<string, string>
  /** A body that is not JSON (its content-type in `headers`). */
  text?: string
}

export interface RouteDef {
  method: 'get' | 'post' | 'patch' | 'delete'
  path: string
  summary: string
  description?: string
  tag: string
  scope: Scope
  /**
   * The least account role a CLI token's user needs (viewer < operator < admin < owner). Every `cli`
   * route names one; the API refuses to start if one does not.
   */
  role?: AccountRole
  /** Needs the hub owner (`hub-owner`: the first account's first owner), beyond `role`. */
  hubOwner?: boolean
  body?: Schema
  /** The handler validates the body itself (stacks: every problem with its path); only "an object" is checked here. */
  bodyCheckedByHandler?: boolean
  /** Accept a request without a body (POST actions). */
  bodyOptional?: boolean
  query?: Record<string, Schema>
  maxBodyBytes?: number
  status: number
  response?: Schema
  handle(input: RouteInput): Promise<Reply>
}
