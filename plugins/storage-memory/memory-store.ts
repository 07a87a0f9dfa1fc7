// A FleetStore in plain maps: starts instantly and costs a few kB, for tests and throwaway hubs.
// It mirrors the SQL store rule for rule (the conformance suite holds both to it); nothing survives exit.
import type { FleetStore, StoreOptions } from '../../lib/storage/types.ts'
import { createMemoryAccounts } from './accounts.ts'
import { createMemoryAlerting } from './alerting.ts'
import { createMemoryAudit } from './audit.ts'
import { createMemoryClusters } from './clusters.ts'
import { createMemoryCommands } from './commands.ts'
import { createMemoryInvitations } from './invitations.ts'
import { createMemoryKeys } from './keys.ts'
import { createMemoryMetrics } from './metrics.ts'
import { createMemoryNodes } from './nodes.ts'
import { createMemoryStacks } from './stacks.ts'
import { createMemoryState } from './state.ts'

export function createMemoryStore(options: StoreOptions = {}): FleetStore {
  const state = createMemoryState(options)
  return {
    kind: 'memory',
    ...createMemoryAccounts(state),
    ...createMemoryInvitations(state),
    ...createMemoryKeys(state),
    ...createMemoryNodes(state),
    ...createMemoryClusters(state),
    ...createMemoryStacks(state),
    ...createMemoryCommands(state),
    ...createMemoryMetrics(state),
    ...createMemoryAudit(state),
    ...createMemoryAlerting(state),
    async close() {},
  }
}
