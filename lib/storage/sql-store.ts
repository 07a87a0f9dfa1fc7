// The FleetStore written once in SQL over a SqlExecutor: PostgreSQL (the `postgres` package) and the
// embedded PGlite store both run this file, so they share one schema and one behaviour.
import { ThreshError } from '../../core/index.ts'
import { conflict } from './errors.ts'
import { aggregate, chooseResolution, floorTo, queryRange, resolveRetention, stepMs } from './metrics-tiers.ts'
import { mergeDaysSql, migrate } from './migrations.ts'
import { arrayLiteral, type SqlExecutor, type SqlParam } from './sql-executor.ts'
import type {
  AccountRecord,
  AuditRecord,
  ClusterSummary,
  CommandRecord,
  FleetStore,
  KeyRecord,
  MetricsPoint,
  MetricsResolution,
  NodeRecord,
  SessionRecord,
  StackRecord,
  StackServiceRecord,
  StoreOptions,
  UserRecord,
} from './types.ts'

type Row = Record<string, any>

const MINUTE = 60_000
const QUARTER = 15 * MINUTE
const DAY = 24 * 60 * MINUTE

function iso(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value)
}

function opt<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value
}

/** Drops undefined fields so records compare equal across stores. */
function clean<T extends object>(record: T): T {
  for (const key of Object.keys(record) as Array<keyof T>) if (record[key] === undefined) delete record[key]
  return record
}

const uniqueMessages: Record<string, (detail: string) => string> = {
  users_username_key: () => 'A user with that username already exists.',
  sessions_token_hash_key: () => 'That session token is already in use.',
  api_keys_key_hash_key: () => 'That key is already registered.',
  clusters_name_key: () => 'A cluster with that name already exists in this account.',
  stacks_name_key: () => 'A stack with that name already exists in this account.',
}

export interface SqlStoreOptions extends StoreOptions {
  kind: 'embedded' | 'postgres'
  /** Plugin name for error messages. */
  plugin: string
  /** Skip migrations (a caller that ran them already). */
  migrate?: boolean
  /** How often nodes' latest sample and lastSeenAt are written back (default 2 s); node reads flush first. */
  latestFlushMs?: number
}

export async function createSqlStore(db: SqlExecutor, options: SqlStoreOptions): Promise<FleetStore> {
  const retention = resolveRetention(options.retention)
  const clock = options.now ?? (() => new Date())
  const plugin = options.plugin
  if (options.migrate !== false) await migrate(db)

  async function run<T = Row>(exec: SqlExecutor, text: string, params: SqlParam[] = []): Promise<T[]> {
    try {
      return await exec.query<T>(text, params)
    } catch (error) {
      throw translate(error)
    }
  }
  const q = <T = Row>(text: string, params: SqlParam[] = []) => run<T>(db, text, params)

  interface Latest {
    accountId: string
    agentId: string
    at: number
    seenAt: string
    snapshot: string
  }
  let pendingLatest = new Map<string, Latest>()
  let flushing: Promise<void> = Promise.resolve()
  /** Writes queued latest samples to their nodes; every node read and write awaits it, so callers never see stale rows. */
  function flushLatest(): Promise<void> {
    const next = flushing.then(async () => {
      if (pendingLatest.size === 0) return
      const batch = [...pendingLatest.values()]
      pendingLatest = new Map()
      try {
        await q(
          `update nodes n set status = 'online', last_seen_at = greatest(n.last_seen_at, l.seen_at),
             last_metrics = case when coalesce((n.last_metrics->>'timestamp')::timestamptz, '-infinity') <= l.at
                                 then l.snapshot else n.last_metrics end
           from unnest($1::text::text[], $2::text::text[], $3::text::timestamptz[], $4::text::timestamptz[], $5::text::jsonb[])
             as l(account_id, agent_id, at, seen_at, snapshot)
           where n.account_id = l.account_id and n.id = l.agent_id`,
          [
            arrayLiteral(batch.map((l) => l.accountId)),
            arrayLiteral(batch.map((l) => l.agentId)),
            arrayLiteral(batch.map((l) => new Date(l.at).toISOString())),
            arrayLiteral(batch.map((l) => l.seenAt)),
            arrayLiteral(batch.map((l) => l.snapshot)),
          ],
        )
      } catch (error) {
        for (const l of batch) {
          const key = `${l.accountId}\u0000${l.agentId}`
          if (!pendingLatest.has(key)) pendingLatest.set(key, l)
        }
        throw error
      }
    })
    flushing = next.catch(() => {})
    return next
  }
  const flushTimer = setInterval(() => void flushLatest().catch(() => {}), options.latestFlushMs ?? 2000)
  ;(flushTimer as { unref?: () => void }).unref?.()

  function translate(error: unknown): unknown {
    const e = error as { code?: string; constraint?: string; constraint_name?: string; detail?: string; message?: string }
    if (e?.code === '23505') {
      const name = e.constraint ?? e.constraint_name ?? ''
      const message = uniqueMessages[name]?.(e.detail ?? '') ?? 'A record with that id already exists.'
      return conflict(message, plugin, error)
    }
    if (e?.code === '23503') {
      return new ThreshError({ code: 'not_found', status: 404, message: 'The account or record it refers to does not exist.', plugin, cause: error })
    }
    return error
  }

  const toAccount = (r: Row): AccountRecord => ({ id: r.id, name: r.name, createdAt: iso(r.created_at)! })
  const toUser = (r: Row): UserRecord => ({
    id: r.id,
    accountId: r.account_id,
    username: r.username,
    passwordHash: r.password_hash,
    mustChangePassword: r.must_change_password,
    roles: r.roles ?? [],
    createdAt: iso(r.created_at)!,
  })
  const toSession = (r: Row): SessionRecord =>
    clean({
      id: r.id,
      accountId: r.account_id,
      userId: r.user_id,
      tokenHash: r.token_hash,
      createdAt: iso(r.created_at)!,
      expiresAt: iso(r.expires_at)!,
      lastUsedAt: iso(r.last_used_at),
      revokedAt: iso(r.revoked_at),
      userAgent: opt(r.user_agent),
      ip: opt(r.ip),
    })
  const toKey = (r: Row): KeyRecord =>
    clean({
      id: r.id,
      accountId: r.account_id,
      type: r.type,
      name: r.name,
      keyHash: r.key_hash,
      prefix: r.prefix,
      createdAt: iso(r.created_at)!,
      revokedAt: iso(r.revoked_at),
      revokeAfter: iso(r.revoke_after),
      rotatedTo: opt(r.rotated_to),
      lastUsedAt: iso(r.last_used_at),
    })
  const toNode = (r: Row): NodeRecord =>
    clean({
      id: r.id,
      accountId: r.account_id,
      hostname: r.hostname,
      platform: r.platform,
      osVersion: r.os_version,
      ipAddress: r.ip_address,
      architecture: r.architecture,
      containerRuntime: r.container_runtime,
      agentVersion: r.agent_version,
      cpuCores: Number(r.cpu_cores),
      ramTotalGb: Number(r.ram_total_gb),
      diskTotalGb: Number(r.disk_total_gb),
      status: r.status,
      lastSeenAt: iso(r.last_seen_at)!,
      registeredAt: iso(r.registered_at)!,
      clusterId: opt(r.cluster_id),
      connectionTier: opt(r.connection_tier),
      keyId: opt(r.key_id),
      info: opt(r.info),
      lastMetrics: opt(r.last_metrics),
    })
  const toCluster = (r: Row): ClusterSummary => ({
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    description: r.description,
    createdAt: iso(r.created_at)!,
    nodeCount: Number(r.node_count ?? 0),
  })
  const toService = (r: Row): StackServiceRecord =>
    clean({
      name: r.name,
      image: r.image,
      ports: r.ports,
      volumes: r.volumes,
      env: r.env,
      dependsOn: r.depends_on,
      status: r.status,
      errorMessage: opt(r.error_message),
    })
  const toCommand = (r: Row): CommandRecord =>
    clean({
      id: r.id,
      accountId: r.account_id,
      nodeId: r.node_id,
      tool: r.tool,
      arguments: r.arguments,
      status: r.status,
      stackId: opt(r.stack_id),
      output: opt(r.output),
      error: opt(r.error),
      result: opt(r.result),
      durationMs: r.duration_ms === null ? undefined : Number(r.duration_ms),
      createdAt: iso(r.created_at)!,
      sentAt: iso(r.sent_at),
      finishedAt: iso(r.finished_at),
    })
  const toAudit = (r: Row): AuditRecord =>
    clean({
      id: String(r.id),
      accountId: r.account_id,
      at: iso(r.at)!,
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: opt(r.details),
    })

  const clusterSelect = `select c.*, (select count(*) from nodes n where n.account_id = c.account_id and n.cluster_id = c.id)::int as node_count from clusters c`

  async function loadStacks(exec: SqlExecutor, where: string, params: SqlParam[]): Promise<StackRecord[]> {
    const stacks = await run(exec, `select * from stacks where ${where} order by created_at, name`, params)
    if (stacks.length === 0) return []
    const services = await run(exec, `select * from stack_services where stack_id = any($1::text::text[]) order by stack_id, position`, [
      arrayLiteral(stacks.map((s) => s.id)),
    ])
    return stacks.map((r) =>
      clean({
        id: r.id,
        accountId: r.account_id,
        name: r.name,
        status: r.status,
        nodeId: opt(r.node_id),
        errorMessage: opt(r.error_message),
        definition: r.definition,
        services: services.filter((s) => s.stack_id === r.id).map(toService),
        createdAt: iso(r.created_at)!,
        updatedAt: iso(r.updated_at)!,
        deployedAt: iso(r.deployed_at),
      }),
    )
  }

  /** `update ... set` from a patch: undefined fields are left alone, null clears. */
  function assignments(patch: Record<string, unknown>, columns: Record<string, string>, params: SqlParam[]): string[] {
    const sets: string[] = []
    for (const [field, cast] of Object.entries(columns)) {
      if (!(field in patch) || patch[field] === undefined) continue
      const value = patch[field]
      const column = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
      params.push(cast === 'jsonb' ? json(value) : (value as SqlParam))
      sets.push(`${column} = $${params.length}::text::${cast}`)
    }
    return sets
  }

  async function patchRow(table: string, accountId: string, id: string, patch: Record<string, unknown>, columns: Record<string, string>): Promise<boolean> {
    const params: SqlParam[] = [accountId, id]
    const sets = assignments(patch, columns, params)
    if (sets.length === 0) return (await q(`select 1 from ${table} where account_id = $1 and id = $2`, params)).length > 0
    const rows = await q(`update ${table} set ${sets.join(', ')} where account_id = $1 and id = $2 returning 1`, params)
    return rows.length > 0
  }

  async function deleteNodes(exec: SqlExecutor, where: string, params: SqlParam[]): Promise<Array<{ accountId: string; id: string }>> {
    const rows = await run(exec, `delete from nodes where ${where} returning account_id, id, key`, params)
    if (rows.length > 0) {
      const keys = arrayLiteral(rows.map((r) => Number(r.key)))
      for (const table of ['metrics_raw', 'metrics_1m', 'metrics_15m_day']) {
        await run(exec, `delete from ${table} where node_key = any($1::text::int[])`, [keys])
      }
    }
    return rows.map((r) => ({ accountId: r.account_id, id: r.id }))
  }

  const store: FleetStore = {
    kind: options.kind,

    async createAccount(record) {
      await q('insert into accounts (id, name, created_at) values ($1, $2, $3)', [record.id, record.name, record.createdAt])
      return { ...record }
    },
    async getAccount(id) {
      const [row] = await q('select * from accounts where id = $1', [id])
      return row && toAccount(row)
    },
    async listAccounts() {
      return (await q('select * from accounts order by created_at, id')).map(toAccount)
    },

    async createUser(record) {
      await q(
        `insert into users (id, account_id, username, password_hash, must_change_password, roles, created_at)
         values ($1, $2, $3, $4, $5, $6::text::jsonb, $7)`,
        [record.id, record.accountId, record.username, record.passwordHash, record.mustChangePassword, json(record.roles), record.createdAt],
      )
      return structuredClone(record)
    },
    async findUserByName(username) {
      const [row] = await q('select * from users where username = $1', [username])
      return row && toUser(row)
    },
    async getUser(accountId, id) {
      const [row] = await q('select * from users where account_id = $1 and id = $2', [accountId, id])
      return row && toUser(row)
    },
    async listUsers(accountId) {
      return (await q('select * from users where account_id = $1 order by created_at, username', [accountId])).map(toUser)
    },
    async updateUser(accountId, id, patch) {
      return patchRow('users', accountId, id, patch, { passwordHash: 'text', mustChangePassword: 'boolean', roles: 'jsonb' })
    },
    async countUsers() {
      const [row] = await q<{ n: number }>('select count(*)::int as n from users')
      return Number(row!.n)
    },

    async createSession(record) {
      await q(
        `insert into sessions (id, account_id, user_id, token_hash, created_at, expires_at, last_used_at, revoked_at, user_agent, ip)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          record.id,
          record.accountId,
          record.userId,
          record.tokenHash,
          record.createdAt,
          record.expiresAt,
          record.lastUsedAt ?? null,
          record.revokedAt ?? null,
          record.userAgent ?? null,
          record.ip ?? null,
        ],
      )
      return { ...record }
    },
    async findSessionByHash(tokenHash) {
      const [row] = await q('select * from sessions where token_hash = $1', [tokenHash])
      return row && toSession(row)
    },
    async listSessions(accountId, userId) {
      return (await q('select * from sessions where account_id = $1 and user_id = $2 order by created_at, id', [accountId, userId])).map(toSession)
    },
    async touchSession(accountId, id, at) {
      await q('update sessions set last_used_at = $3 where account_id = $1 and id = $2', [accountId, id, at])
    },
    async revokeSession(accountId, id, at) {
      const rows = await q('update sessions set revoked_at = coalesce(revoked_at, $3) where account_id = $1 and id = $2 returning 1', [accountId, id, at])
      return rows.length > 0
    },
    async pruneSessions(before) {
      const [row] = await q<{ n: number }>('with d as (delete from sessions where expires_at < $1 returning 1) select count(*)::int as n from d', [before])
      return Number(row!.n)
    },

    async createKey(record) {
      await insertKey(db, record)
      return { ...record }
    },
    async findKeyByHash(keyHash) {
      const [row] = await q('select * from api_keys where key_hash = $1', [keyHash])
      return row && toKey(row)
    },
    async getKey(accountId, id) {
      const [row] = await q('select * from api_keys where account_id = $1 and id = $2', [accountId, id])
      return row && toKey(row)
    },
    async listKeys(accountId) {
      return (await q('select * from api_keys where account_id = $1 order by created_at, id', [accountId])).map(toKey)
    },
    async updateKey(accountId, id, patch) {
      return patchRow('api_keys', accountId, id, patch, {
        revokedAt: 'timestamptz',
        revokeAfter: 'timestamptz',
        rotatedTo: 'text',
        lastUsedAt: 'timestamptz',
        name: 'text',
      })
    },
    async rotateKey(accountId, id, next, graceUntil) {
      return db.transaction(async (tx) => {
        const [old] = await run(tx, 'select * from api_keys where account_id = $1 and id = $2 and revoked_at is null for update', [accountId, id])
        if (!old) return undefined
        await insertKey(tx, { ...next, accountId })
        await run(
          tx,
          `update api_keys set revoke_after = least(coalesce(revoke_after, 'infinity'), $3::text::timestamptz), rotated_to = $4
           where account_id = $1 and id = $2`,
          [accountId, id, graceUntil, next.id],
        )
        return { ...next, accountId }
      })
    },

    async upsertNode(reg) {
      await flushLatest()
      const now = clock().toISOString()
      const [row] = await q(
        `insert into nodes (account_id, id, hostname, platform, os_version, ip_address, architecture, container_runtime,
           agent_version, cpu_cores, ram_total_gb, disk_total_gb, status, last_seen_at, registered_at, connection_tier, key_id, info)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'online', $13, $14, $15, $16, $17::text::jsonb)
         on conflict (account_id, id) do update set
           hostname = excluded.hostname, platform = excluded.platform, os_version = excluded.os_version,
           ip_address = excluded.ip_address, architecture = excluded.architecture,
           container_runtime = excluded.container_runtime, agent_version = excluded.agent_version,
           cpu_cores = excluded.cpu_cores, ram_total_gb = excluded.ram_total_gb, disk_total_gb = excluded.disk_total_gb,
           status = 'online', last_seen_at = excluded.last_seen_at,
           connection_tier = coalesce(excluded.connection_tier, nodes.connection_tier),
           key_id = coalesce(excluded.key_id, nodes.key_id), info = coalesce(excluded.info, nodes.info)
         returning *`,
        [
          reg.accountId,
          reg.id,
          reg.hostname,
          reg.platform ?? '',
          reg.osVersion ?? '',
          reg.ipAddress ?? '',
          reg.architecture ?? '',
          reg.containerRuntime ?? '',
          reg.agentVersion ?? '',
          Math.round(reg.cpuCores ?? 0),
          reg.ramTotalGb ?? 0,
          reg.diskTotalGb ?? 0,
          reg.lastSeenAt ?? now,
          reg.registeredAt ?? now,
          reg.connectionTier ?? null,
          reg.keyId ?? null,
          json(reg.info),
        ],
      )
      return toNode(row!)
    },
    async getNode(accountId, id) {
      await flushLatest()
      const [row] = await q('select * from nodes where account_id = $1 and id = $2', [accountId, id])
      return row && toNode(row)
    },
    async findNode(accountId, idOrName) {
      await flushLatest()
      const [row] = await q(
        `select * from nodes where account_id = $1 and (id = $2 or hostname = $2)
         order by (id = $2) desc, last_seen_at desc limit 1`,
        [accountId, idOrName],
      )
      return row && toNode(row)
    },
    async listNodes(accountId) {
      await flushLatest()
      return (await q('select * from nodes where account_id = $1 order by hostname, id', [accountId])).map(toNode)
    },
    async updateNode(accountId, id, patch) {
      await flushLatest()
      return patchRow('nodes', accountId, id, patch, {
        status: 'text',
        lastSeenAt: 'timestamptz',
        connectionTier: 'text',
        hostname: 'text',
        lastMetrics: 'jsonb',
      })
    },
    async deleteNode(accountId, id) {
      await flushLatest()
      return db.transaction(async (tx) => (await deleteNodes(tx, 'account_id = $1 and id = $2', [accountId, id])).length > 0)
    },
    async countNodes() {
      await flushLatest()
      const [row] = await q(`select count(*)::int as total, (count(*) filter (where status = 'online'))::int as online from nodes`)
      return { total: Number(row?.total ?? 0), online: Number(row?.online ?? 0) }
    },
    async markStaleNodesOffline(seenBefore) {
      await flushLatest()
      const rows = await q(`update nodes set status = 'offline' where status = 'online' and last_seen_at < $1 returning account_id, id`, [seenBefore])
      return rows.map((r) => ({ accountId: r.account_id, id: r.id }))
    },
    async pruneStaleNodes(seenBefore) {
      await flushLatest()
      return db.transaction((tx) => deleteNodes(tx, 'last_seen_at < $1', [seenBefore]))
    },

    async createCluster(record) {
      await q('insert into clusters (id, account_id, name, description, created_at) values ($1, $2, $3, $4, $5)', [
        record.id,
        record.accountId,
        record.name,
        record.description,
        record.createdAt,
      ])
      return { ...record }
    },
    async getCluster(accountId, id) {
      const [row] = await q(`${clusterSelect} where c.account_id = $1 and c.id = $2`, [accountId, id])
      return row && toCluster(row)
    },
    async getClusterByName(accountId, name) {
      const [row] = await q(`${clusterSelect} where c.account_id = $1 and c.name = $2`, [accountId, name])
      return row && toCluster(row)
    },
    async listClusters(accountId) {
      return (await q(`${clusterSelect} where c.account_id = $1 order by c.name`, [accountId])).map(toCluster)
    },
    async deleteCluster(accountId, id) {
      return (await q('delete from clusters where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },
    async setNodeCluster(accountId, nodeId, clusterId) {
      const rows = await q(
        `update nodes set cluster_id = $3 where account_id = $1 and id = $2
           and ($3::text is null or exists (select 1 from clusters where account_id = $1 and id = $3)) returning 1`,
        [accountId, nodeId, clusterId],
      )
      return rows.length > 0
    },
    async listClusterNodes(accountId, clusterId) {
      await flushLatest()
      return (await q('select * from nodes where account_id = $1 and cluster_id = $2 order by hostname, id', [accountId, clusterId])).map(toNode)
    },

    async upsertStack(record) {
      await db.transaction(async (tx) => {
        const written = await run(
          tx,
          `insert into stacks (id, account_id, name, status, node_id, error_message, definition, created_at, updated_at, deployed_at)
           values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10)
           on conflict (id) do update set name = excluded.name, status = excluded.status, node_id = excluded.node_id,
             error_message = excluded.error_message, definition = excluded.definition,
             updated_at = excluded.updated_at, deployed_at = excluded.deployed_at
           where stacks.account_id = excluded.account_id
           returning id`,
          [
            record.id,
            record.accountId,
            record.name,
            record.status,
            record.nodeId ?? null,
            record.errorMessage ?? null,
            json(record.definition ?? null),
            record.createdAt,
            record.updatedAt,
            record.deployedAt ?? null,
          ],
        )
        if (written.length === 0) throw conflict('A record with that id already exists.', plugin)
        await run(tx, 'delete from stack_services where stack_id = $1', [record.id])
        if (record.services.length > 0) {
          const s = record.services
          await run(
            tx,
            `insert into stack_services (stack_id, name, position, image, ports, volumes, env, depends_on, status, error_message)
             select $1, name, position, image, ports, volumes, env, depends_on, status, error_message
             from unnest($2::text::text[], $3::text::int[], $4::text::text[], $5::text::jsonb[], $6::text::jsonb[],
                         $7::text::jsonb[], $8::text::jsonb[], $9::text::text[], $10::text::text[])
               as t(name, position, image, ports, volumes, env, depends_on, status, error_message)`,
            [
              record.id,
              arrayLiteral(s.map((x) => x.name)),
              arrayLiteral(s.map((_, i) => i)),
              arrayLiteral(s.map((x) => x.image)),
              arrayLiteral(s.map((x) => JSON.stringify(x.ports ?? []))),
              arrayLiteral(s.map((x) => JSON.stringify(x.volumes ?? []))),
              arrayLiteral(s.map((x) => JSON.stringify(x.env ?? {}))),
              arrayLiteral(s.map((x) => JSON.stringify(x.dependsOn ?? []))),
              arrayLiteral(s.map((x) => x.status)),
              arrayLiteral(s.map((x) => x.errorMessage ?? null)),
            ],
          )
        }
      })
      return structuredClone(record)
    },
    async getStack(accountId, id) {
      return (await loadStacks(db, 'account_id = $1 and id = $2', [accountId, id]))[0]
    },
    async getStackByName(accountId, name) {
      return (await loadStacks(db, 'account_id = $1 and name = $2', [accountId, name]))[0]
    },
    async listStacks(accountId) {
      return loadStacks(db, 'account_id = $1', [accountId])
    },
    async updateStack(accountId, id, patch) {
      return patchRow('stacks', accountId, id, patch, {
        status: 'text',
        nodeId: 'text',
        errorMessage: 'text',
        updatedAt: 'timestamptz',
        deployedAt: 'timestamptz',
        definition: 'jsonb',
      })
    },
    async setServiceStatus(accountId, stackId, service, patch) {
      const rows = await q(
        `update stack_services s set status = $4,
           error_message = case when $5::boolean then $6 else s.error_message end,
           image = coalesce($7, s.image)
         from stacks t where t.id = s.stack_id and t.account_id = $1 and s.stack_id = $2 and s.name = $3 returning 1`,
        [accountId, stackId, service, patch.status, patch.errorMessage !== undefined, patch.errorMessage ?? null, patch.image ?? null],
      )
      if (rows.length > 0) await q('update stacks set updated_at = $3 where account_id = $1 and id = $2', [accountId, stackId, clock().toISOString()])
      return rows.length > 0
    },
    async deleteStack(accountId, id) {
      return (await q('delete from stacks where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },

    async createCommand(record) {
      await q(
        `insert into commands (id, account_id, node_id, tool, arguments, status, stack_id, output, error, result, duration_ms, created_at, sent_at, finished_at)
         values ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10::text::jsonb, $11, $12, $13, $14)`,
        [
          record.id,
          record.accountId,
          record.nodeId,
          record.tool,
          json(record.arguments ?? {}),
          record.status,
          record.stackId ?? null,
          record.output ?? null,
          record.error ?? null,
          json(record.result),
          record.durationMs ?? null,
          record.createdAt,
          record.sentAt ?? null,
          record.finishedAt ?? null,
        ],
      )
      return structuredClone(record)
    },
    async getCommand(accountId, id) {
      const [row] = await q('select * from commands where account_id = $1 and id = $2', [accountId, id])
      return row && toCommand(row)
    },
    async updateCommand(accountId, id, patch) {
      return patchRow('commands', accountId, id, patch, commandColumns)
    },
    async finishCommand(accountId, id, patch) {
      const params: SqlParam[] = [accountId, id]
      const sets = assignments(patch, commandColumns, params)
      const rows = await q(
        `update commands set ${sets.join(', ')} where account_id = $1 and id = $2 and status in ('pending', 'sent') returning 1`,
        params,
      )
      return rows.length > 0
    },
    async listCommands(accountId, filter = {}) {
      const params: SqlParam[] = [accountId]
      let where = 'account_id = $1'
      if (filter.nodeId !== undefined) {
        params.push(filter.nodeId)
        where += ` and node_id = $${params.length}`
      }
      if (filter.status !== undefined) {
        params.push(arrayLiteral(filter.status))
        where += ` and status = any($${params.length}::text::text[])`
      }
      params.push(filter.limit ?? 1000)
      return (await q(`select * from commands where ${where} order by created_at, id limit $${params.length}`, params)).map(toCommand)
    },
    async timeOutCommands(createdBefore, at) {
      const rows = await q(
        `update commands set status = 'timeout', finished_at = $2, error = coalesce(error, 'The node did not answer in time.')
         where status in ('pending', 'sent') and created_at < $1 returning *`,
        [createdBefore, at],
      )
      return rows.map(toCommand)
    },

    async appendMetrics(accountId, samples) {
      if (samples.length === 0) return 0
      const valid = samples.filter((s) => typeof s.agentId === 'string' && Number.isFinite(Date.parse(s.timestamp)))
      // Node freshness is coalesced and written back in one statement (flushLatest): updating every
      // node row per batch cost ~4x the sample insert itself.
      const latest = new Map<string, { at: number; sample: (typeof samples)[number] }>()
      for (const s of valid) {
        const at = Date.parse(s.timestamp)
        const seen = latest.get(s.agentId)
        if (!seen || seen.at <= at) latest.set(s.agentId, { at, sample: s })
      }
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
      const [row] = await q<{ stored: number }>(
        `with s as (
           select * from unnest($2::text::text[], $3::text::timestamptz[], $4::text::real[], $5::text::real[], $6::text::real[],
                                $7::text::real[], $8::text::real[], $9::text::smallint[])
             as s(agent_id, at, cpu, mem_used, mem_total, disk_used, disk_total, containers)
         ),
         ins as (
           insert into metrics_raw (node_key, at, cpu, mem_used, mem_total, disk_used, disk_total, containers)
           select n.key, s.at, s.cpu, s.mem_used, s.mem_total, s.disk_used, s.disk_total, s.containers
           from s join nodes n on n.account_id = $1 and n.id = s.agent_id
           on conflict do nothing
           returning 1
         ),
         late as (
           update metrics_rollup_state set dirty_from = least(coalesce(dirty_from, 'infinity'), (select min(at) from s))
           where tier = '1m' and done_until > (select min(at) from s)
           returning 1
         )
         select (select count(*) from ins)::int as stored`,
        [
          accountId,
          arrayLiteral(valid.map((s) => s.agentId)),
          arrayLiteral(valid.map((s) => new Date(s.timestamp).toISOString())),
          arrayLiteral(valid.map((s) => num(s.cpuPercent))),
          arrayLiteral(valid.map((s) => num(s.memoryUsedMB))),
          arrayLiteral(valid.map((s) => num(s.memoryTotalMB))),
          arrayLiteral(valid.map((s) => num(s.diskUsedGB))),
          arrayLiteral(valid.map((s) => num(s.diskTotalGB))),
          arrayLiteral(valid.map((s) => Math.max(0, Math.min(32767, Math.round(num(s.containersRunning)))))),
        ],
      )
      const seenAt = clock().toISOString()
      for (const [agentId, { at, sample }] of latest) {
        const key = `${accountId}\u0000${agentId}`
        const queued = pendingLatest.get(key)
        if (queued && queued.at > at) continue
        pendingLatest.set(key, { accountId, agentId, at, seenAt, snapshot: JSON.stringify({ ...sample, timestamp: new Date(at).toISOString() }) })
      }
      return Number(row!.stored)
    },

    async queryMetrics(accountId, nodeId, query) {
      const now = query.now ?? clock()
      const { from, to } = queryRange(query, plugin)
      const resolution: MetricsResolution = query.resolution ?? chooseResolution(from, to, now, retention)
      const step = stepMs[resolution]
      const series = { nodeId, resolution, stepMs: step, points: [] as MetricsPoint[] }
      const [node] = await q<{ key: number }>('select key from nodes where account_id = $1 and id = $2', [accountId, nodeId])
      if (!node) return series
      const key = Number(node.key)
      const pointCols = `cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers, samples`
      const rawCols = `cpu, cpu as cpu_max, mem_used, mem_total, disk_used, disk_total, containers, 1 as samples`
      if (resolution === 'raw') {
        const rows = await q(`select at, ${rawCols} from metrics_raw where node_key = $1 and at >= $2 and at <= $3 order by at`, [
          key,
          from.toISOString(),
          to.toISOString(),
        ])
        series.points = rows.map(toPoint)
        return series
      }
      const state = await rollupState()
      const start = new Date(floorTo(from.getTime(), step)).toISOString()
      const end = to.toISOString()
      const parts: Row[] = []
      // Rolled-up buckets, then the finer data not yet rolled up (maintenance runs about once a minute).
      const doneFine = state['1m']!.toISOString()
      if (resolution === '15m') {
        const doneCoarse = state['15m']!.toISOString()
        parts.push(
          ...(await q(
            `select * from (
               select to_timestamp(e.day::bigint * 86400 + (i - 1) * 900) as at, e.samples[i] as samples, e.cpu[i] as cpu,
                      e.cpu_max[i] as cpu_max, e.mem_used[i] as mem_used, e.mem_total[i] as mem_total, e.disk_used[i] as disk_used,
                      e.disk_total[i] as disk_total, e.containers[i] as containers
               from metrics_15m_day e cross join generate_series(1, 96) as i
               where e.node_key = $1 and e.day between $5 and $6 and e.samples[i] is not null) p
             where at >= $2 and at <= $3 and at < $4`,
            [key, start, end, doneCoarse, Math.floor(Date.parse(start) / DAY), Math.floor(Date.parse(end) / DAY)],
          )),
          ...(await q(
            `select bucket as at, ${pointCols} from metrics_1m where node_key = $1 and bucket >= greatest($2::text::timestamptz, $4::text::timestamptz)
               and bucket <= $3 and bucket < $5`,
            [key, start, end, doneCoarse, doneFine],
          )),
        )
      } else {
        parts.push(
          ...(await q(`select bucket as at, ${pointCols} from metrics_1m where node_key = $1 and bucket >= $2 and bucket <= $3 and bucket < $4`, [
            key,
            start,
            end,
            doneFine,
          ])),
        )
      }
      parts.push(
        ...(await q(`select at, ${rawCols} from metrics_raw where node_key = $1 and at >= greatest($2::text::timestamptz, $4::text::timestamptz) and at <= $3`, [
          key,
          start,
          end,
          doneFine,
        ])),
      )
      series.points = aggregate(parts.map(toPoint), step)
      return series
    },

    async maintainMetrics(now = clock()) {
      return db.transaction(async (tx) => {
        const states = await run(tx, 'select tier, done_until, dirty_from from metrics_rollup_state for update')
        const get = (tier: string) => states.find((s) => s.tier === tier)!
        const t = now.getTime()
        const done1 = new Date(get('1m').done_until).getTime()
        const dirty1 = get('1m').dirty_from === null ? Infinity : new Date(get('1m').dirty_from).getTime()
        const to1 = floorTo(t, MINUTE)
        const from1 = Math.max(floorTo(Math.min(done1, dirty1), MINUTE), Math.ceil((t - retention.rawMs) / MINUTE) * MINUTE)
        let rolledUp = 0
        if (from1 < to1) {
          const rows = await run<{ n: number }>(
            tx,
            `with r as (
               insert into metrics_1m (node_key, bucket, samples, cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers)
               select node_key, date_bin('1 minute', at, 'epoch'), count(*), avg(cpu), max(cpu), avg(mem_used), avg(mem_total),
                      avg(disk_used), avg(disk_total), avg(containers)
               from metrics_raw where at >= $1 and at < $2 group by 1, 2
               on conflict (node_key, bucket) do update set samples = excluded.samples, cpu = excluded.cpu, cpu_max = excluded.cpu_max,
                 mem_used = excluded.mem_used, mem_total = excluded.mem_total, disk_used = excluded.disk_used,
                 disk_total = excluded.disk_total, containers = excluded.containers
               returning 1)
             select count(*)::int as n from r`,
            [new Date(from1).toISOString(), new Date(to1).toISOString()],
          )
          rolledUp += Number(rows[0]!.n)
        }
        const done15 = new Date(get('15m').done_until).getTime()
        const to15 = floorTo(to1, QUARTER)
        const from15 = Math.max(floorTo(Math.min(done15, from1), QUARTER), Math.ceil((t - retention.minuteMs) / QUARTER) * QUARTER)
        if (from15 < to15) {
          const rows = await run<{ n: number }>(
            tx,
            `with b as (
               select node_key, (floor(extract(epoch from bucket) / 900) * 900)::bigint as s15, sum(samples) as samples,
                      sum(cpu * samples) / sum(samples) as cpu, max(cpu_max) as cpu_max, sum(mem_used * samples) / sum(samples) as mem_used,
                      sum(mem_total * samples) / sum(samples) as mem_total, sum(disk_used * samples) / sum(samples) as disk_used,
                      sum(disk_total * samples) / sum(samples) as disk_total, sum(containers * samples) / sum(samples) as containers
               from metrics_1m where bucket >= $1 and bucket < $2 group by 1, 2
             ),
             d as (
               select node_key, (s15 / 86400)::int as day, ((s15 % 86400) / 900 + 1)::int as idx,
                      samples, cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers
               from b
             ),
             ${mergeDaysSql}
             select (select count(*) from d)::int as n, (select count(*) from written)::int as days`,
            [new Date(from15).toISOString(), new Date(to15).toISOString()],
          )
          rolledUp += Number(rows[0]!.n)
        }
        await run(tx, `update metrics_rollup_state set done_until = greatest(done_until, $1::text::timestamptz), dirty_from = null where tier = '1m'`, [
          new Date(to1).toISOString(),
        ])
        await run(tx, `update metrics_rollup_state set done_until = greatest(done_until, $1::text::timestamptz) where tier = '15m'`, [
          new Date(to15).toISOString(),
        ])
        const [pruned] = await run<{ n: number }>(
          tx,
          `with a as (delete from metrics_raw where at < $1 returning 1),
                b as (delete from metrics_1m where bucket < $2 returning 1),
                c as (delete from metrics_15m_day where day < $3 returning 1)
           select ((select count(*) from a) + (select count(*) from b) + (select count(*) from c))::int as n`,
          // 15-minute history goes a whole UTC day at a time.
          [new Date(t - retention.rawMs).toISOString(), new Date(t - retention.minuteMs).toISOString(), Math.floor((t - retention.quarterHourMs) / DAY)],
        )
        return { rolledUp, pruned: Number(pruned!.n) }
      })
    },

    async appendAudit(record) {
      const [row] = await q(
        `insert into audit_log (account_id, at, actor, action, target, details) values ($1, $2, $3, $4, $5, $6::text::jsonb) returning *`,
        [record.accountId, record.at, record.actor, record.action, record.target, json(record.details)],
      )
      return toAudit(row!)
    },
    async listAudit(accountId, options = {}) {
      const params: SqlParam[] = [accountId, options.limit ?? 100]
      let where = 'account_id = $1'
      if (options.before !== undefined) {
        params.push(options.before)
        where += ` and id < $3::text::bigint`
      }
      return (await q(`select * from audit_log where ${where} order by id desc limit $2`, params)).map(toAudit)
    },

    async metricsBytes() {
      const [row] = await q<{ n: number }>(
        `select (pg_total_relation_size('metrics_raw') + pg_total_relation_size('metrics_1m') + pg_total_relation_size('metrics_15m_day'))::float8 as n`,
      )
      return Number(row!.n)
    },
    flush: () => flushLatest(),
    async ping() {
      await q('select 1')
    },
    async close() {
      clearInterval(flushTimer)
      try {
        await flushLatest()
      } finally {
        await db.close()
      }
    },
  }

  async function rollupState(): Promise<Record<string, Date>> {
    const rows = await q('select tier, done_until from metrics_rollup_state')
    return Object.fromEntries(rows.map((r) => [r.tier, new Date(r.done_until)]))
  }

  async function insertKey(exec: SqlExecutor, record: KeyRecord): Promise<void> {
    await run(
      exec,
      `insert into api_keys (id, account_id, type, name, key_hash, prefix, created_at, revoked_at, revoke_after, rotated_to, last_used_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        record.id,
        record.accountId,
        record.type,
        record.name,
        record.keyHash,
        record.prefix,
        record.createdAt,
        record.revokedAt ?? null,
        record.revokeAfter ?? null,
        record.rotatedTo ?? null,
        record.lastUsedAt ?? null,
      ],
    )
  }

  return store
}

const commandColumns = {
  status: 'text',
  output: 'text',
  error: 'text',
  result: 'jsonb',
  durationMs: 'int',
  sentAt: 'timestamptz',
  finishedAt: 'timestamptz',
}

function toPoint(r: Row): MetricsPoint {
  return {
    at: iso(r.at)!,
    cpuPercent: Number(r.cpu),
    cpuMax: Number(r.cpu_max),
    memoryUsedMb: Number(r.mem_used),
    memoryTotalMb: Number(r.mem_total),
    diskUsedGb: Number(r.disk_used),
    diskTotalGb: Number(r.disk_total),
    containersRunning: Number(r.containers),
    samples: Number(r.samples),
  }
}
