// The storage contract: the records the hub keeps and the one FleetStore interface that the memory,
// embedded (PGlite) and PostgreSQL plugins implement and `test/storage/conformance.ts` checks.
// Times are ISO-8601 strings so records go to JSON untouched; every read is scoped by accountId,
// except the lookups that find the account (key and session hashes, login name) and fleet sweeps.

import type { AlertingStore } from './alerting-types.ts'
import type { HostFigures } from './host-series.ts'
import type { StoreNotifications } from './notifications.ts'
import type { HubMesh } from './hub-mesh-types.ts'

export type * from './alerting-types.ts'
export type * from './hub-mesh-types.ts'

export type KeyType = 'agent' | 'midtier'
export type NodeStatus = 'online' | 'offline'
export type CommandStatus = 'pending' | 'sent' | 'success' | 'error' | 'timeout'
export type MetricsResolution = 'raw' | '1m' | '15m'

export interface AccountRecord {
  id: string
  name: string
  createdAt: string
}

export interface UserRecord {
  id: string
  accountId: string
  /** Unique across the hub: login takes only a username. */
  username: string
  /** A KDF string (`scrypt$...`), never the password. */
  passwordHash: string
  mustChangePassword: boolean
  roles: string[]
  createdAt: string
}

/** A one-time link that lets someone join an account with a role; only the token's hash is kept. */
export interface InvitationRecord {
  id: string
  accountId: string
  /** The account role the new user gets (`viewer`, `operator`, `admin`, `owner`). */
  role: string
  /** SHA-256 of the whole invitation token; unique. */
  tokenHash: string
  /** Who invited (the audit log's actor name). */
  createdBy: string
  createdAt: string
  expiresAt: string
  acceptedAt?: string
  /** The username the invitation was accepted as. */
  acceptedBy?: string
  revokedAt?: string
}

export interface SessionRecord {
  id: string
  accountId: string
  userId: string
  /** SHA-256 of the whole `thresh_cli_` token. */
  tokenHash: string
  createdAt: string
  expiresAt: string
  lastUsedAt?: string
  revokedAt?: string
  userAgent?: string
  ip?: string
}

export interface KeyRecord {
  id: string
  accountId: string
  type: KeyType
  name: string
  /** SHA-256 of the whole key; unique. */
  keyHash: string
  /** The first characters of the key, safe to display. */
  prefix: string
  createdAt: string
  revokedAt?: string
  /** Set by rotation: the old key stays valid until then. */
  revokeAfter?: string
  /** The id of the key that replaced this one. */
  rotatedTo?: string
  lastUsedAt?: string
}

/** What `RegisterAgent` tells the hub; `upsertNode` takes it on every (re)connect. */
export interface NodeRegistration {
  /** The agent's id. Unique within an account. */
  id: string
  accountId: string
  hostname: string
  platform?: string
  osVersion?: string
  ipAddress?: string
  architecture?: string
  containerRuntime?: string
  agentVersion?: string
  cpuCores?: number
  ramTotalGb?: number
  diskTotalGb?: number
  /** `hub` for agents on the embedded mid-tier, else the mid-tier's id. */
  connectionTier?: string
  /** The key the agent authenticated with. */
  keyId?: string
  /** The full AgentInfo as sent, for fields the columns do not hold. */
  info?: Record<string, unknown>
  /** Defaults to now; the first registration's value is kept on later upserts. */
  registeredAt?: string
  lastSeenAt?: string
  /** The hub process that holds the agent's connection (its lease), on a store shared by several hubs. */
  heldBy?: string
}

export interface NodeRecord extends Required<Omit<NodeRegistration, 'keyId' | 'info' | 'connectionTier' | 'heldBy'>> {
  status: NodeStatus
  heldBy?: string
  connectionTier?: string
  keyId?: string
  info?: Record<string, unknown>
  clusterId?: string
  /** The latest metrics sample as received, for node lists. */
  lastMetrics?: Record<string, unknown>
}

export interface ClusterRecord {
  id: string
  accountId: string
  name: string
  description: string
  createdAt: string
}

export interface ClusterSummary extends ClusterRecord {
  nodeCount: number
}

export interface StackServiceRecord {
  name: string
  image: string
  ports: string[]
  volumes: string[]
  env: Record<string, string>
  dependsOn: string[]
  status: string
  errorMessage?: string
}

export interface StackRecord {
  id: string
  accountId: string
  /** Unique within an account. */
  name: string
  status: string
  nodeId?: string
  errorMessage?: string
  /** The validated definition as submitted. */
  definition: unknown
  services: StackServiceRecord[]
  createdAt: string
  updatedAt: string
  deployedAt?: string
  /**
   * While a deploy runs: the record it replaces (`record: null` for a first deploy), which the stack
   * reads as again if the node rolls the deploy back. Stored, so a hub that restarts, or another hub
   * that applies the result, restores it too.
   */
  rollbackTo?: { record: StackRecord | null }
}

export interface CommandRecord {
  id: string
  accountId: string
  nodeId: string
  tool: string
  arguments: Record<string, unknown>
  status: CommandStatus
  stackId?: string
  output?: string
  error?: string
  /** Any structured result the agent sent. */
  result?: unknown
  durationMs?: number
  createdAt: string
  sentAt?: string
  finishedAt?: string
  /** Hub process that asked, and the one holding the node, when a command crosses hubs. */
  askerHub?: string
  holderHub?: string
}

export interface AuditRecord {
  id: string
  accountId: string
  at: string
  actor: string
  action: string
  target: string
  details?: Record<string, unknown>
}

/** One metrics sample: the scalar part of `MetricsData` (the series keeps no per-core or per-disk detail). */
export interface MetricsSampleInput {
  agentId: string
  timestamp: string
  cpuPercent: number
  memoryUsedMB: number
  memoryTotalMB: number
  diskUsedGB: number
  diskTotalGB: number
  containersRunning: number
  [extra: string]: unknown
}

/** A point of a series; for rollups, averages over the bucket that starts at `at`. */
export interface MetricsPoint {
  at: string
  cpuPercent: number
  cpuMax: number
  memoryUsedMb: number
  memoryTotalMb: number
  diskUsedGb: number
  diskTotalGb: number
  containersRunning: number
  /** How many raw samples the point stands for. */
  samples: number
  /** Load, swap, network, disk I/O and temperatures, averaged like the rest (lib/storage/host-series.ts). */
  host?: HostFigures
}

export interface MetricsSeries {
  nodeId: string
  resolution: MetricsResolution
  /** Bucket width in ms; 0 for raw samples. */
  stepMs: number
  points: MetricsPoint[]
}

/** One container's usage at one minute (the first sample of that minute). */
export interface ContainerUsagePoint {
  at: string
  /** Percent of one core; null when the agent could not tell yet. */
  cpuPercent: number | null
  memoryMb: number
}

export interface ContainerSeries {
  name: string
  points: ContainerUsagePoint[]
}

export interface ContainerMetricsQuery {
  from: Date | string
  to: Date | string
  /** One container by name; all of the node's otherwise. */
  container?: string
}

/** How long each resolution is kept, in ms. */
export interface MetricsRetention {
  rawMs: number
  minuteMs: number
  quarterHourMs: number
}

export interface MetricsQuery {
  from: Date | string
  to: Date | string
  /** Force a resolution instead of letting the store pick one. */
  resolution?: MetricsResolution
  /** Defaults to the store's clock; tests pass a fixed one. */
  now?: Date
}

export interface MaintenanceResult {
  rolledUp: number
  pruned: number
}

export type NodePatch = Partial<Pick<NodeRecord, 'status' | 'lastSeenAt' | 'connectionTier' | 'hostname' | 'lastMetrics'>>
export type KeyPatch = Partial<Pick<KeyRecord, 'revokedAt' | 'revokeAfter' | 'rotatedTo' | 'lastUsedAt' | 'name'>>
export type StackPatch = Partial<Pick<StackRecord, 'status' | 'nodeId' | 'errorMessage' | 'updatedAt' | 'deployedAt' | 'definition'>>
export type CommandPatch = Partial<Pick<CommandRecord, 'status' | 'output' | 'error' | 'result' | 'durationMs' | 'sentAt' | 'finishedAt'>>
export interface ServiceStatusPatch {
  status: string
  errorMessage?: string | null
  image?: string
}

/**
 * The hub's durable state. Every implementation passes `test/storage/conformance.ts`.
 * Writes that would break a uniqueness rule throw `ThreshError` with code `conflict` (status 409).
 * Methods ending in `s` over the whole fleet (`markStaleNodesOffline`, `pruneStaleNodes`,
 * `timeOutCommands`, `maintainMetrics`) are for the hub's background sweeps, not for request paths.
 */
export interface FleetStore extends AlertingStore {
  readonly kind: 'memory' | 'embedded' | 'postgres'

  createAccount(record: AccountRecord): Promise<AccountRecord>
  getAccount(id: string): Promise<AccountRecord | undefined>
  listAccounts(): Promise<AccountRecord[]>

  createUser(record: UserRecord): Promise<UserRecord>
  /** Global: login names a user before the account is known. */
  findUserByName(username: string): Promise<UserRecord | undefined>
  getUser(accountId: string, id: string): Promise<UserRecord | undefined>
  listUsers(accountId: string): Promise<UserRecord[]>
  updateUser(accountId: string, id: string, patch: Partial<Pick<UserRecord, 'passwordHash' | 'mustChangePassword' | 'roles'>>): Promise<boolean>
  countUsers(): Promise<number>
  /** Removes the user and every session of theirs; false if the account has no such user. */
  deleteUser(accountId: string, id: string): Promise<boolean>

  createInvitation(record: InvitationRecord): Promise<InvitationRecord>
  /** Global: the link's token is all the invited person has. */
  findInvitationByHash(tokenHash: string): Promise<InvitationRecord | undefined>
  getInvitation(accountId: string, id: string): Promise<InvitationRecord | undefined>
  listInvitations(accountId: string): Promise<InvitationRecord[]>
  /** Marks a pending invitation revoked; false if it is unknown, accepted or already revoked. */
  revokeInvitation(accountId: string, id: string, at: string): Promise<boolean>
  /**
   * In one transaction: marks the invitation accepted by `user` and creates that user, only if it is
   * still pending and unexpired at `at`. False when it is not (used, revoked, expired, unknown); a
   * taken username throws `conflict` and leaves the invitation pending.
   */
  acceptInvitation(accountId: string, id: string, user: UserRecord, at: string): Promise<boolean>

  createSession(record: SessionRecord): Promise<SessionRecord>
  /** Global: the token names its account. Returns revoked and expired sessions too; the caller decides. */
  findSessionByHash(tokenHash: string): Promise<SessionRecord | undefined>
  listSessions(accountId: string, userId: string): Promise<SessionRecord[]>
  touchSession(accountId: string, id: string, at: string): Promise<void>
  revokeSession(accountId: string, id: string, at: string): Promise<boolean>
  /** Deletes sessions that expired before `before`; returns how many. */
  pruneSessions(before: string): Promise<number>

  createKey(record: KeyRecord): Promise<KeyRecord>
  /** Global: the key names its account. Returns revoked keys too; use `isKeyActive`. */
  findKeyByHash(keyHash: string): Promise<KeyRecord | undefined>
  getKey(accountId: string, id: string): Promise<KeyRecord | undefined>
  listKeys(accountId: string): Promise<KeyRecord[]>
  updateKey(accountId: string, id: string, patch: KeyPatch): Promise<boolean>
  /** Stores `next` and lets the old key live until `graceUntil`, in one transaction. */
  rotateKey(accountId: string, id: string, next: KeyRecord, graceUntil: string): Promise<KeyRecord | undefined>

  /** Insert or refresh on every RegisterAgent: status online, keeps registeredAt and clusterId. */
  upsertNode(registration: NodeRegistration): Promise<NodeRecord>
  getNode(accountId: string, id: string): Promise<NodeRecord | undefined>
  /** By id, else by hostname (the API's `{idOrName}`); the newest node wins a hostname tie. */
  findNode(accountId: string, idOrName: string): Promise<NodeRecord | undefined>
  listNodes(accountId: string): Promise<NodeRecord[]>
  updateNode(accountId: string, id: string, patch: NodePatch): Promise<boolean>
  /** Removes the node and its metrics. */
  deleteNode(accountId: string, id: string): Promise<boolean>
  /** Fleet-wide: online nodes not seen since `seenBefore` go offline; returns them. */
  markStaleNodesOffline(seenBefore: string): Promise<Array<{ accountId: string; id: string }>>
  /** Fleet-wide: how many nodes there are and how many are online (the hub's gauges), without reading them. */
  /** Nodes of every account, or of one. */
  countNodes(accountId?: string): Promise<{ total: number; online: number }>
  /** Fleet-wide: deletes nodes not seen since `seenBefore` (and their metrics); returns them. */
  pruneStaleNodes(seenBefore: string): Promise<Array<{ accountId: string; id: string }>>

  createCluster(record: ClusterRecord): Promise<ClusterRecord>
  getCluster(accountId: string, id: string): Promise<ClusterSummary | undefined>
  getClusterByName(accountId: string, name: string): Promise<ClusterSummary | undefined>
  listClusters(accountId: string): Promise<ClusterSummary[]>
  /** Nodes stay, without a cluster. */
  deleteCluster(accountId: string, id: string): Promise<boolean>
  /** A node is in at most one cluster: setting moves it, null removes it. False if either is unknown. */
  setNodeCluster(accountId: string, nodeId: string, clusterId: string | null): Promise<boolean>
  listClusterNodes(accountId: string, clusterId: string): Promise<NodeRecord[]>

  /** Insert, or replace by id (services included), in one transaction. */
  upsertStack(record: StackRecord): Promise<StackRecord>
  getStack(accountId: string, id: string): Promise<StackRecord | undefined>
  getStackByName(accountId: string, name: string): Promise<StackRecord | undefined>
  listStacks(accountId: string): Promise<StackRecord[]>
  updateStack(accountId: string, id: string, patch: StackPatch): Promise<boolean>
  /** From StackServiceStatusUpdate; false if the stack or service is unknown. */
  setServiceStatus(accountId: string, stackId: string, service: string, patch: ServiceStatusPatch): Promise<boolean>
  deleteStack(accountId: string, id: string): Promise<boolean>

  createCommand(record: CommandRecord): Promise<CommandRecord>
  getCommand(accountId: string, id: string): Promise<CommandRecord | undefined>
  updateCommand(accountId: string, id: string, patch: CommandPatch): Promise<boolean>
  /** Records a result only if the command is still pending or sent: true the first time, false for duplicates. */
  finishCommand(accountId: string, id: string, patch: CommandPatch & { status: 'success' | 'error' | 'timeout' }): Promise<boolean>
  listCommands(accountId: string, filter?: { nodeId?: string; status?: CommandStatus[]; limit?: number }): Promise<CommandRecord[]>
  /** Fleet-wide: pending or sent commands created before `createdBefore` become `timeout`; returns them. */
  timeOutCommands(createdBefore: string, at: string): Promise<CommandRecord[]>

  /**
   * Appends samples of the account's nodes (others are dropped; duplicates by node and time are
   * ignored) and refreshes each node's lastMetrics, lastSeenAt and status (a store may coalesce that
   * refresh, but every node read sees it). Returns how many samples were stored.
   */
  appendMetrics(accountId: string, samples: MetricsSampleInput[]): Promise<number>
  queryMetrics(accountId: string, nodeId: string, query: MetricsQuery): Promise<MetricsSeries>
  /**
   * Per-container CPU and memory of a node between from and to, by container name (see
   * lib/storage/container-history.ts for the bounds); appendMetrics stores them from `containers`.
   */
  queryContainerMetrics(accountId: string, nodeId: string, query: ContainerMetricsQuery): Promise<ContainerSeries[]>
  /** Rolls raw samples into 1-minute and 15-minute buckets and applies retention. Run it every minute or so. */
  maintainMetrics(now?: Date): Promise<MaintenanceResult>

  appendAudit(record: Omit<AuditRecord, 'id'>): Promise<AuditRecord>
  listAudit(accountId: string, options?: { limit?: number; before?: string }): Promise<AuditRecord[]>

  /** Optional: bytes the metrics series take on disk (SQL stores). */
  metricsBytes?(): Promise<number>
  /** Optional: writes back anything the store coalesces (nodes' latest samples); `close` does it too. */
  flush?(): Promise<void>
  /** Optional: checks the backing database answers (for /health). */
  ping?(): Promise<void>
  /** Optional: publish/subscribe shared with other processes on this store (PostgreSQL); see `notificationsOf`. */
  readonly notifications?: StoreNotifications
  /** Optional: several hub processes share this store (PostgreSQL); absent on single-hub stores. */
  mesh?: HubMesh

  close(): Promise<void>
}

export interface StoreOptions {
  retention?: Partial<MetricsRetention>
  /** The store's clock, for tests. */
  now?: () => Date
  /** Where a store reports what it dropped (a row the database refused); the plugin's logger. */
  logger?: { warn(message: string): void }
}
