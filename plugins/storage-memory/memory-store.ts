// A FleetStore in plain maps: starts instantly and costs a few kB, for tests and throwaway hubs.
// It mirrors the SQL store rule for rule (the conformance suite holds both to it); nothing survives exit.
import { conflict } from '../../lib/storage/errors.ts'
import { aggregate, chooseResolution, floorTo, queryRange, resolveRetention, stepMs } from '../../lib/storage/metrics-tiers.ts'
import type {
  AccountRecord,
  AuditRecord,
  ClusterRecord,
  CommandRecord,
  FleetStore,
  KeyRecord,
  MetricsPoint,
  MetricsResolution,
  NodeRecord,
  SessionRecord,
  StackRecord,
  StoreOptions,
  UserRecord,
} from '../../lib/storage/types.ts'
import { ThreshError } from '../../core/index.ts'

const plugin = 'storage-memory'
const MINUTE = 60_000
const QUARTER = 15 * MINUTE
// 15-minute history goes a whole UTC day at a time, as in the SQL stores.
const DAY = 24 * 60 * MINUTE

/**
 * A detached copy of what the store holds (plain JSON-like records): a recursive copy is ~6x cheaper
 * than structuredClone for them, which a command round trip paid three times on the hub.
 */
function copy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(copy) as T
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return structuredClone(value)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key])
  return out as T
}
const time = (value: string) => Date.parse(value)
const scoped = (accountId: string, id: string) => `${accountId}\u0000${id}`

/** Sets the fields a patch names; `null` clears one, `undefined` leaves it alone. */
function applyPatch<T extends object>(target: T, patch: object): void {
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue
    if (value === null) delete (target as Record<string, unknown>)[field]
    else (target as Record<string, unknown>)[field] = structuredClone(value)
  }
}

export function createMemoryStore(options: StoreOptions = {}): FleetStore {
  const retention = resolveRetention(options.retention)
  const clock = options.now ?? (() => new Date())
  const accounts = new Map<string, AccountRecord>()
  const users = new Map<string, UserRecord>()
  const sessions = new Map<string, SessionRecord>()
  const keys = new Map<string, KeyRecord>()
  const nodes = new Map<string, NodeRecord>()
  const clusters = new Map<string, ClusterRecord>()
  const stacks = new Map<string, StackRecord>()
  const commands = new Map<string, CommandRecord>()
  const audit: AuditRecord[] = []
  let auditSeq = 0
  const series: Record<MetricsResolution, Map<string, Map<number, MetricsPoint>>> = { raw: new Map(), '1m': new Map(), '15m': new Map() }
  const rollup = { done1: 0, dirty1: Infinity, done15: 0 }

  const needAccount = (accountId: string) => {
    if (!accounts.has(accountId)) {
      throw new ThreshError({ code: 'not_found', status: 404, plugin, message: 'The account or record it refers to does not exist.' })
    }
  }
  const ensureNewId = (map: Map<string, unknown>, id: string) => {
    if (map.has(id)) throw conflict('A record with that id already exists.', plugin)
  }
  const inAccount = <T extends { accountId: string }>(map: Map<string, T>, accountId: string, id: string) => {
    const record = map.get(id)
    return record && record.accountId === accountId ? record : undefined
  }
  const clusterSummary = (c: ClusterRecord) => ({
    ...copy(c),
    nodeCount: [...nodes.values()].filter((n) => n.accountId === c.accountId && n.clusterId === c.id).length,
  })
  const byTime = <T>(field: keyof T) => (a: T, b: T) => String(a[field]).localeCompare(String(b[field]))
  const nodeOrder = (a: NodeRecord, b: NodeRecord) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id)

  function dropSeries(accountId: string, id: string) {
    for (const tier of Object.values(series)) tier.delete(scoped(accountId, id))
  }

  function rollInto(source: Map<string, Map<number, MetricsPoint>>, target: Map<string, Map<number, MetricsPoint>>, from: number, to: number, step: number) {
    let n = 0
    for (const [node, points] of source) {
      const window = [...points.entries()].filter(([at]) => at >= from && at < to).map(([, p]) => p)
      if (window.length === 0) continue
      const dest = target.get(node) ?? new Map<number, MetricsPoint>()
      for (const point of aggregate(window, step)) {
        dest.set(time(point.at), point)
        n++
      }
      target.set(node, dest)
    }
    return n
  }

  function prune(tier: Map<string, Map<number, MetricsPoint>>, before: number) {
    let n = 0
    for (const points of tier.values()) {
      for (const at of points.keys()) {
        if (at < before) {
          points.delete(at)
          n++
        }
      }
    }
    return n
  }

  const store: FleetStore = {
    kind: 'memory',

    async createAccount(record) {
      ensureNewId(accounts, record.id)
      accounts.set(record.id, copy(record))
      return copy(record)
    },
    async getAccount(id) {
      return copy(accounts.get(id))
    },
    async listAccounts() {
      return copy([...accounts.values()].sort((a, b) => byTime<AccountRecord>('createdAt')(a, b) || a.id.localeCompare(b.id)))
    },

    async createUser(record) {
      needAccount(record.accountId)
      ensureNewId(users, record.id)
      if ([...users.values()].some((u) => u.username === record.username)) throw conflict('A user with that username already exists.', plugin)
      users.set(record.id, copy(record))
      return copy(record)
    },
    async findUserByName(username) {
      return copy([...users.values()].find((u) => u.username === username))
    },
    async getUser(accountId, id) {
      return copy(inAccount(users, accountId, id))
    },
    async listUsers(accountId) {
      return copy([...users.values()].filter((u) => u.accountId === accountId).sort((a, b) => byTime<UserRecord>('createdAt')(a, b) || a.username.localeCompare(b.username)))
    },
    async updateUser(accountId, id, patch) {
      const user = inAccount(users, accountId, id)
      if (user) applyPatch(user, patch)
      return user !== undefined
    },
    async countUsers() {
      return users.size
    },

    async createSession(record) {
      needAccount(record.accountId)
      ensureNewId(sessions, record.id)
      if ([...sessions.values()].some((s) => s.tokenHash === record.tokenHash)) throw conflict('That session token is already in use.', plugin)
      sessions.set(record.id, copy(record))
      return copy(record)
    },
    async findSessionByHash(tokenHash) {
      return copy([...sessions.values()].find((s) => s.tokenHash === tokenHash))
    },
    async listSessions(accountId, userId) {
      return copy([...sessions.values()].filter((s) => s.accountId === accountId && s.userId === userId).sort(byTime('createdAt')))
    },
    async touchSession(accountId, id, at) {
      const session = inAccount(sessions, accountId, id)
      if (session) session.lastUsedAt = at
    },
    async revokeSession(accountId, id, at) {
      const session = inAccount(sessions, accountId, id)
      if (session) session.revokedAt ??= at
      return session !== undefined
    },
    async pruneSessions(before) {
      let n = 0
      for (const [id, s] of sessions) {
        if (time(s.expiresAt) < time(before)) {
          sessions.delete(id)
          n++
        }
      }
      return n
    },

    async createKey(record) {
      needAccount(record.accountId)
      ensureNewId(keys, record.id)
      if ([...keys.values()].some((k) => k.keyHash === record.keyHash)) throw conflict('That key is already registered.', plugin)
      keys.set(record.id, copy(record))
      return copy(record)
    },
    async findKeyByHash(keyHash) {
      return copy([...keys.values()].find((k) => k.keyHash === keyHash))
    },
    async getKey(accountId, id) {
      return copy(inAccount(keys, accountId, id))
    },
    async listKeys(accountId) {
      return copy([...keys.values()].filter((k) => k.accountId === accountId).sort((a, b) => byTime<KeyRecord>('createdAt')(a, b) || a.id.localeCompare(b.id)))
    },
    async updateKey(accountId, id, patch) {
      const key = inAccount(keys, accountId, id)
      if (key) applyPatch(key, patch)
      return key !== undefined
    },
    async rotateKey(accountId, id, next, graceUntil) {
      const old = inAccount(keys, accountId, id)
      if (!old || old.revokedAt !== undefined) return undefined
      await store.createKey({ ...next, accountId })
      if (old.revokeAfter === undefined || time(graceUntil) < time(old.revokeAfter)) old.revokeAfter = graceUntil
      old.rotatedTo = next.id
      return copy({ ...next, accountId })
    },

    async upsertNode(reg) {
      needAccount(reg.accountId)
      const now = clock().toISOString()
      const existing = nodes.get(scoped(reg.accountId, reg.id))
      const record: NodeRecord = {
        id: reg.id,
        accountId: reg.accountId,
        hostname: reg.hostname,
        platform: reg.platform ?? '',
        osVersion: reg.osVersion ?? '',
        ipAddress: reg.ipAddress ?? '',
        architecture: reg.architecture ?? '',
        containerRuntime: reg.containerRuntime ?? '',
        agentVersion: reg.agentVersion ?? '',
        cpuCores: Math.round(reg.cpuCores ?? 0),
        ramTotalGb: reg.ramTotalGb ?? 0,
        diskTotalGb: reg.diskTotalGb ?? 0,
        status: 'online',
        lastSeenAt: reg.lastSeenAt ?? now,
        registeredAt: existing?.registeredAt ?? reg.registeredAt ?? now,
      }
      const connectionTier = reg.connectionTier ?? existing?.connectionTier
      const keyId = reg.keyId ?? existing?.keyId
      const info = reg.info ?? existing?.info
      if (connectionTier !== undefined) record.connectionTier = connectionTier
      if (keyId !== undefined) record.keyId = keyId
      if (info !== undefined) record.info = copy(info)
      if (existing?.clusterId !== undefined) record.clusterId = existing.clusterId
      if (existing?.lastMetrics !== undefined) record.lastMetrics = existing.lastMetrics
      nodes.set(scoped(reg.accountId, reg.id), record)
      return copy(record)
    },
    async getNode(accountId, id) {
      return copy(nodes.get(scoped(accountId, id)))
    },
    async findNode(accountId, idOrName) {
      const byId = nodes.get(scoped(accountId, idOrName))
      if (byId) return copy(byId)
      const named = [...nodes.values()].filter((n) => n.accountId === accountId && n.hostname === idOrName)
      return copy(named.sort((a, b) => time(b.lastSeenAt) - time(a.lastSeenAt))[0])
    },
    async listNodes(accountId) {
      return copy([...nodes.values()].filter((n) => n.accountId === accountId).sort(nodeOrder))
    },
    async updateNode(accountId, id, patch) {
      const node = nodes.get(scoped(accountId, id))
      if (node) applyPatch(node, patch)
      return node !== undefined
    },
    async deleteNode(accountId, id) {
      dropSeries(accountId, id)
      return nodes.delete(scoped(accountId, id))
    },
    async countNodes() {
      let online = 0
      for (const n of nodes.values()) if (n.status === 'online') online++
      return { total: nodes.size, online }
    },
    async markStaleNodesOffline(seenBefore) {
      const changed = []
      for (const n of nodes.values()) {
        if (n.status === 'online' && time(n.lastSeenAt) < time(seenBefore)) {
          n.status = 'offline'
          changed.push({ accountId: n.accountId, id: n.id })
        }
      }
      return changed
    },
    async pruneStaleNodes(seenBefore) {
      const removed = []
      for (const [key, n] of nodes) {
        if (time(n.lastSeenAt) < time(seenBefore)) {
          nodes.delete(key)
          dropSeries(n.accountId, n.id)
          removed.push({ accountId: n.accountId, id: n.id })
        }
      }
      return removed
    },

    async createCluster(record) {
      needAccount(record.accountId)
      ensureNewId(clusters, record.id)
      if ([...clusters.values()].some((c) => c.accountId === record.accountId && c.name === record.name)) {
        throw conflict('A cluster with that name already exists in this account.', plugin)
      }
      clusters.set(record.id, copy(record))
      return copy(record)
    },
    async getCluster(accountId, id) {
      const c = inAccount(clusters, accountId, id)
      return c && clusterSummary(c)
    },
    async getClusterByName(accountId, name) {
      const c = [...clusters.values()].find((x) => x.accountId === accountId && x.name === name)
      return c && clusterSummary(c)
    },
    async listClusters(accountId) {
      return [...clusters.values()].filter((c) => c.accountId === accountId).sort((a, b) => a.name.localeCompare(b.name)).map(clusterSummary)
    },
    async deleteCluster(accountId, id) {
      if (!inAccount(clusters, accountId, id)) return false
      clusters.delete(id)
      for (const n of nodes.values()) if (n.accountId === accountId && n.clusterId === id) delete n.clusterId
      return true
    },
    async setNodeCluster(accountId, nodeId, clusterId) {
      const node = nodes.get(scoped(accountId, nodeId))
      if (!node || (clusterId !== null && !inAccount(clusters, accountId, clusterId))) return false
      if (clusterId === null) delete node.clusterId
      else node.clusterId = clusterId
      return true
    },
    async listClusterNodes(accountId, clusterId) {
      return copy([...nodes.values()].filter((n) => n.accountId === accountId && n.clusterId === clusterId).sort(nodeOrder))
    },

    async upsertStack(record) {
      needAccount(record.accountId)
      const existing = stacks.get(record.id)
      if (existing && existing.accountId !== record.accountId) throw conflict('A record with that id already exists.', plugin)
      if ([...stacks.values()].some((s) => s.accountId === record.accountId && s.name === record.name && s.id !== record.id)) {
        throw conflict('A stack with that name already exists in this account.', plugin)
      }
      const stored = copy(record)
      if (existing) stored.createdAt = existing.createdAt
      stacks.set(record.id, stored)
      return copy(record)
    },
    async getStack(accountId, id) {
      return copy(inAccount(stacks, accountId, id))
    },
    async getStackByName(accountId, name) {
      return copy([...stacks.values()].find((s) => s.accountId === accountId && s.name === name))
    },
    async listStacks(accountId) {
      return copy([...stacks.values()].filter((s) => s.accountId === accountId).sort((a, b) => byTime<StackRecord>('createdAt')(a, b) || a.name.localeCompare(b.name)))
    },
    async updateStack(accountId, id, patch) {
      const stack = inAccount(stacks, accountId, id)
      if (stack) applyPatch(stack, patch)
      return stack !== undefined
    },
    async setServiceStatus(accountId, stackId, name, patch) {
      const stack = inAccount(stacks, accountId, stackId)
      const service = stack?.services.find((s) => s.name === name)
      if (!stack || !service) return false
      service.status = patch.status
      if (patch.errorMessage === null) delete service.errorMessage
      else if (patch.errorMessage !== undefined) service.errorMessage = patch.errorMessage
      if (patch.image !== undefined) service.image = patch.image
      stack.updatedAt = clock().toISOString()
      return true
    },
    async deleteStack(accountId, id) {
      return inAccount(stacks, accountId, id) ? stacks.delete(id) : false
    },

    async createCommand(record) {
      needAccount(record.accountId)
      ensureNewId(commands, record.id)
      commands.set(record.id, copy(record))
      return copy(record)
    },
    async getCommand(accountId, id) {
      return copy(inAccount(commands, accountId, id))
    },
    async updateCommand(accountId, id, patch) {
      const command = inAccount(commands, accountId, id)
      if (command) applyPatch(command, patch)
      return command !== undefined
    },
    async finishCommand(accountId, id, patch) {
      const command = inAccount(commands, accountId, id)
      if (!command || (command.status !== 'pending' && command.status !== 'sent')) return false
      applyPatch(command, patch)
      return true
    },
    async listCommands(accountId, filter = {}) {
      const list = [...commands.values()]
        .filter((c) => c.accountId === accountId && (filter.nodeId === undefined || c.nodeId === filter.nodeId) && (filter.status === undefined || filter.status.includes(c.status)))
        .sort((a, b) => byTime<CommandRecord>('createdAt')(a, b) || a.id.localeCompare(b.id))
      return copy(list.slice(0, filter.limit ?? 1000))
    },
    async timeOutCommands(createdBefore, at) {
      const changed: CommandRecord[] = []
      for (const c of commands.values()) {
        if ((c.status === 'pending' || c.status === 'sent') && time(c.createdAt) < time(createdBefore)) {
          c.status = 'timeout'
          c.finishedAt = at
          c.error ??= 'The node did not answer in time.'
          changed.push(copy(c))
        }
      }
      return changed
    },

    async appendMetrics(accountId, samples) {
      let stored = 0
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
      // Stored as float4 like the SQL stores, so both answer with the same numbers.
      const f32 = (v: unknown) => Math.fround(num(v))
      const now = clock().toISOString()
      for (const s of samples) {
        const at = Date.parse(s.timestamp)
        const node = nodes.get(scoped(accountId, s.agentId))
        if (!node || !Number.isFinite(at)) continue
        const key = scoped(accountId, s.agentId)
        const raw = series.raw.get(key) ?? new Map<number, MetricsPoint>()
        series.raw.set(key, raw)
        if (!raw.has(at)) {
          const cpu = f32(s.cpuPercent)
          raw.set(at, {
            at: new Date(at).toISOString(),
            cpuPercent: cpu,
            cpuMax: cpu,
            memoryUsedMb: f32(s.memoryUsedMB),
            memoryTotalMb: f32(s.memoryTotalMB),
            diskUsedGb: f32(s.diskUsedGB),
            diskTotalGb: f32(s.diskTotalGB),
            containersRunning: Math.max(0, Math.min(32767, Math.round(num(s.containersRunning)))),
            samples: 1,
          })
          stored++
          if (at < rollup.done1) rollup.dirty1 = Math.min(rollup.dirty1, at)
        }
        node.status = 'online'
        if (time(now) > time(node.lastSeenAt)) node.lastSeenAt = now
        const latest = node.lastMetrics?.timestamp
        if (typeof latest !== 'string' || Date.parse(latest) <= at) node.lastMetrics = copy({ ...s, timestamp: new Date(at).toISOString() })
      }
      return stored
    },

    async queryMetrics(accountId, nodeId, query) {
      const now = query.now ?? clock()
      const range = queryRange(query, plugin)
      const from = range.from.getTime()
      const to = range.to.getTime()
      const resolution = query.resolution ?? chooseResolution(new Date(from), new Date(to), now, retention)
      const step = stepMs[resolution]
      const key = scoped(accountId, nodeId)
      const pick = (tier: MetricsResolution, lo: number, hi: number) =>
        [...(series[tier].get(key)?.values() ?? [])].filter((p) => time(p.at) >= lo && time(p.at) <= to && time(p.at) < hi)
      let points: MetricsPoint[]
      if (resolution === 'raw') {
        points = pick('raw', from, Infinity).sort((a, b) => time(a.at) - time(b.at))
      } else {
        const start = floorTo(from, step)
        const parts =
          resolution === '15m'
            ? [...pick('15m', start, rollup.done15), ...pick('1m', Math.max(start, rollup.done15), rollup.done1)]
            : pick('1m', start, rollup.done1)
        points = aggregate([...parts, ...pick('raw', Math.max(start, rollup.done1), Infinity)], step)
      }
      return { nodeId, resolution, stepMs: step, points: copy(points) }
    },

    async maintainMetrics(now = clock()) {
      const t = now.getTime()
      const to1 = floorTo(t, MINUTE)
      const from1 = Math.max(floorTo(Math.min(rollup.done1, rollup.dirty1), MINUTE), Math.ceil((t - retention.rawMs) / MINUTE) * MINUTE)
      let rolledUp = 0
      if (from1 < to1) rolledUp += rollInto(series.raw, series['1m'], from1, to1, MINUTE)
      const to15 = floorTo(to1, QUARTER)
      const from15 = Math.max(floorTo(Math.min(rollup.done15, from1), QUARTER), Math.ceil((t - retention.minuteMs) / QUARTER) * QUARTER)
      if (from15 < to15) rolledUp += rollInto(series['1m'], series['15m'], from15, to15, QUARTER)
      rollup.done1 = Math.max(rollup.done1, to1)
      rollup.dirty1 = Infinity
      rollup.done15 = Math.max(rollup.done15, to15)
      const pruned = prune(series.raw, t - retention.rawMs) + prune(series['1m'], t - retention.minuteMs) + prune(series['15m'], floorTo(t - retention.quarterHourMs, DAY))
      return { rolledUp, pruned }
    },

    async appendAudit(record) {
      needAccount(record.accountId)
      const entry = { ...copy(record), id: String(++auditSeq) }
      audit.push(entry)
      return copy(entry)
    },
    async listAudit(accountId, options = {}) {
      const before = options.before === undefined ? Infinity : Number(options.before)
      return copy(
        audit
          .filter((e) => e.accountId === accountId && Number(e.id) < before)
          .reverse()
          .slice(0, options.limit ?? 100),
      )
    },

    async close() {},
  }
  return store
}
