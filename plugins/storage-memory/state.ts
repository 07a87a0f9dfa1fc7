// The maps the memory store keeps its records in, shared by its aggregates, and the guards that raise
// the errors the SQL store gets from its foreign and primary keys.
import { conflict } from '../../lib/storage/errors.ts'
import { resolveRetention } from '../../lib/storage/metrics-tiers.ts'
import type {
  AccountRecord,
  ClusterRecord,
  CommandRecord,
  InvitationRecord,
  KeyRecord,
  MetricsPoint,
  MetricsResolution,
  MetricsRetention,
  NodeRecord,
  SessionRecord,
  StackRecord,
  StoreOptions,
  UserRecord,
} from '../../lib/storage/types.ts'
import { ThreshError } from '../../core/index.ts'
import { scoped } from './records.ts'

export const plugin = 'storage-memory'

/** Points of each node (by `scoped` id), by time in ms. */
export type Series = Map<string, Map<number, MetricsPoint>>

export interface MemoryState {
  clock: () => Date
  retention: MetricsRetention
  accounts: Map<string, AccountRecord>
  users: Map<string, UserRecord>
  sessions: Map<string, SessionRecord>
  invitations: Map<string, InvitationRecord>
  keys: Map<string, KeyRecord>
  /** By `scoped(accountId, id)`: node ids are the agents' own, unique only within an account. */
  nodes: Map<string, NodeRecord>
  clusters: Map<string, ClusterRecord>
  stacks: Map<string, StackRecord>
  commands: Map<string, CommandRecord>
  series: Record<MetricsResolution, Series>
  /** Per-container usage by node (`scoped` id), container name and minute. */
  containerSeries: Map<string, Map<string, Map<number, { cpu: number | null; mem: number }>>>
}

export function createMemoryState(options: StoreOptions): MemoryState {
  return {
    retention: resolveRetention(options.retention),
    clock: options.now ?? (() => new Date()),
    accounts: new Map(),
    users: new Map(),
    sessions: new Map(),
    invitations: new Map(),
    keys: new Map(),
    nodes: new Map(),
    clusters: new Map(),
    stacks: new Map(),
    commands: new Map(),
    series: { raw: new Map(), '1m': new Map(), '15m': new Map() },
    containerSeries: new Map(),
  }
}

export function needAccount(state: MemoryState, accountId: string): void {
  if (!state.accounts.has(accountId)) {
    throw new ThreshError({ code: 'not_found', status: 404, plugin, message: 'The account or record it refers to does not exist.' })
  }
}

export function ensureNewId(map: Map<string, unknown>, id: string): void {
  if (map.has(id)) throw conflict('A record with that id already exists.', plugin)
}

export function inAccount<T extends { accountId: string }>(map: Map<string, T>, accountId: string, id: string): T | undefined {
  const record = map.get(id)
  return record && record.accountId === accountId ? record : undefined
}

export function nodeOrder(a: NodeRecord, b: NodeRecord): number {
  return a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id)
}

export function dropSeries(state: MemoryState, accountId: string, id: string): void {
  for (const tier of Object.values(state.series)) tier.delete(scoped(accountId, id))
  state.containerSeries.delete(scoped(accountId, id))
}
