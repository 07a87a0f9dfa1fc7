// The FleetStore written once in SQL over a SqlExecutor: PostgreSQL (the `postgres` package) and the
// embedded PGlite store both run it, so they share one schema and one behaviour. Each aggregate is in sql/.
import { migrate } from './migrations.ts'
import type { StoreNotifications } from './notifications.ts'
import type { SqlExecutor } from './sql-executor.ts'
import { createSqlAccounts } from './sql/accounts.ts'
import { createSqlAlerting } from './sql/alerting.ts'
import { createSqlKeys } from './sql/api-keys.ts'
import { createSqlAudit } from './sql/audit.ts'
import { createSqlClusters } from './sql/clusters.ts'
import { createSqlCommands } from './sql/commands.ts'
import { createSqlContext } from './sql/context.ts'
import { createSqlEvents } from './sql/events.ts'
import { createSqlHubMesh } from './sql/hub-mesh.ts'
import { createSqlInvitations } from './sql/invitations.ts'
import { createLatestReports } from './sql/latest-reports.ts'
import { createSqlMetrics } from './sql/metrics.ts'
import { createSqlNodes } from './sql/nodes.ts'
import { createSqlStacks } from './sql/stacks.ts'
import type { FleetStore, StoreOptions } from './types.ts'

export interface SqlStoreOptions extends StoreOptions {
  kind: 'embedded' | 'postgres'
  /** Plugin name for error messages. */
  plugin: string
  /** Skip migrations (a caller that ran them already). */
  migrate?: boolean
  /** How often nodes' latest sample and lastSeenAt are written back (default 2 s); node reads flush first. */
  latestFlushMs?: number
  /** The store's notifications (PostgreSQL): the hub mesh listens and notifies through them; `close` closes them. */
  notifications?: StoreNotifications
}

export async function createSqlStore(db: SqlExecutor, options: SqlStoreOptions): Promise<FleetStore> {
  const ctx = createSqlContext(db, options)
  if (options.migrate !== false) await migrate(db)
  const latest = createLatestReports(ctx, options.latestFlushMs ?? 2000)
  const { notifications } = options
  return {
    kind: options.kind,
    ...createSqlAccounts(ctx),
    ...createSqlInvitations(ctx),
    ...createSqlKeys(ctx),
    ...createSqlNodes(ctx, latest),
    ...createSqlClusters(ctx, latest),
    ...createSqlStacks(ctx),
    ...createSqlCommands(ctx),
    ...createSqlMetrics(ctx, latest),
    ...createSqlAudit(ctx),
    ...createSqlEvents(ctx),
    ...createSqlAlerting(ctx),
    // Only PostgreSQL is shared by several hubs; the embedded store stays single-hub.
    ...(notifications ? { notifications } : {}),
    ...(options.kind === 'postgres' && notifications?.inStatement ? { mesh: createSqlHubMesh(ctx, notifications, notifications.inStatement.bind(notifications)) } : {}),
    flush: () => latest.flush(),
    async ping() {
      await ctx.q('select 1')
    },
    async close() {
      await notifications?.close().catch(() => {})
      latest.stop()
      try {
        await latest.flush()
      } finally {
        await db.close()
      }
    },
  }
}
