// The fleet on the hub: nodes from RegisterAgent (embedded gateway or external mid-tiers), their
// metrics, clusters, node tools and stacks, plus the sweeps that mark nodes offline, prune stale ones,
// close connections of revoked keys and roll metrics up.
import { ThreshError, type Logger } from '../../core/index.ts'
import type { AgentGateway, AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from '../../lib/agent-session/server/index.ts'
import type { FleetStore, MetricsSampleInput, NodeRecord } from '../../lib/storage/types.ts'
import { createFleetStreams, type FleetStreams } from './streams.ts'
import { actorOf, type Principal } from '../../lib/auth/principal.ts'
import type { AuditLog, AuthService } from '../hub-auth/index.ts'
import { newId } from '../../lib/ids.ts'
import { createKeyedQueue } from '../../lib/keyed-queue.ts'
import { disconnectMessage, parseRelayMessage } from './relay-messages.ts'
import { createDispatcher, type CommandRoute, type Dispatcher } from './dispatcher.ts'
import { createHubPresence } from './hub-presence.ts'
import { createRemoteStreams } from './remote-streams.ts'
import type { StreamOpen } from '../../lib/streams/index.ts'
import { noLeases, startLeaseMap, type LeaseMap } from './lease-map.ts'
import { notificationsOf } from '../../lib/storage/notifications.ts'
import { openStackFiles } from '../../lib/secret-box.ts'
import type { FleetBus, NodeOfflineEvent, NodeRemovedEvent } from './fleet-events.ts'
import type { MetricsWriter } from './metrics-writer.ts'
import type { FleetIngress, MidtierRouter } from './midtier-hub.ts'
import { live, type FleetLiveEvent } from './live-events.ts'
import { createRegistrationGuard, type RegistrationLimits } from './registration-guard.ts'
import type { SecretBox } from '../../lib/secret-box.ts'
import { createStackOperations, type StackOperations } from './stacks.ts'
import { createNodeObjects, type NodeObjects } from './node-objects.ts'
import { clusterSummary, metricsPoint, nodeDetail, type NodeDetail } from './views.ts'

export interface FleetOptions {
  /** A node that sent nothing for this long is offline (3 missed metric intervals). */
  offlineAfterMs: number
  /** An offline node not seen for this long is removed. */
  staleAfterMs: number
  commandTimeoutMs: number
  sweepMs: number
  keySweepMs: number
  maintenanceMs: number
  registration: RegistrationLimits
  /** An exec session with no input or output for this long is closed. */
  execIdleMs?: number
  /** Hubs sharing PostgreSQL: a hub whose heartbeat is older than this is dead, its node leases expired (default 15 s). */
  hubLeaseTtlMs?: number
}

export interface ToolOutcome {
  commandId: string
  status: string
  output: string
  error: string | null
}

export interface FleetService {
  listNodes(accountId: string): Promise<NodeDetail[]>
  /** `{"nodes": [...]}` serialised, served from a cache at most 1 s old (local changes clear it). */
  listNodesJson(accountId: string): Promise<string>
  /** The node with its full last report (`lastMetrics`: per-core CPU, disks, containers), null before the first. */
  getNode(accountId: string, idOrName: string): Promise<NodeDetail & { lastMetrics: Record<string, unknown> | null }>
  removeNode(principal: Principal, idOrName: string, force: boolean): Promise<void>
  nodeMetrics(accountId: string, idOrName: string, from: Date, to: Date): Promise<Record<string, unknown>>
  runTool(principal: Principal, idOrName: string, tool: string, args: Record<string, unknown>, timeoutMs: number): Promise<ToolOutcome>
  listClusters(accountId: string): Promise<Array<ReturnType<typeof clusterSummary>>>
  createCluster(principal: Principal, input: { name: string; description?: string }): Promise<ReturnType<typeof clusterSummary>>
  getCluster(accountId: string, name: string): Promise<ReturnType<typeof clusterSummary> & { nodes: NodeDetail[] }>
  deleteCluster(principal: Principal, name: string): Promise<void>
  addClusterNode(principal: Principal, name: string, node: string): Promise<ReturnType<typeof clusterSummary> & { nodes: NodeDetail[] }>
  removeClusterNode(principal: Principal, name: string, node: string): Promise<void>
  listCommands(accountId: string, limit: number): ReturnType<FleetStore['listCommands']>
  getCommand(accountId: string, id: string): ReturnType<FleetStore['getCommand']>
  stacks: StackOperations
  /** Every container, image, volume and environment on a node. */
  nodeObjects: NodeObjects
  /** Logs and exec sessions on nodes' containers. */
  streams: FleetStreams
  stats(): { nodesOnline: number; nodesTotal: number; stacksByStatus: Record<string, number>; commandsInFlight: number; midtiers: number; agentsConnected: number }
}

export interface Fleet {
  service: FleetService
  ingress: FleetIngress
  dispatcher: Dispatcher
  /** Joins the other hubs on a shared store (heartbeat, LISTEN); a no-op on single-hub stores. */
  start(): Promise<void>
  attachMidtiers(router: MidtierRouter): void
  /** The streams external mid-tiers feed (empty until one is attached). */
  midtierStreams(): { bytes: number; dropped: number; size: number }
  /** Closes the connections of a key (revoked, or rotated past its grace). */
  closeKey(accountId: string, keyId: string, reason: string): Promise<void>
  close(): Promise<void>
}

const notFound = (message: string) => new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-fleet', message })
const conflict = (code: string, message: string) => new ThreshError({ code, status: 409, plugin: 'hub-fleet', message })
const finite = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n : 0)
const text = (s: unknown, max = 200) => (typeof s === 'string' ? s.slice(0, max) : '')
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function containerOf(c: unknown): unknown {
  if (typeof c === 'string') return c.slice(0, 256)
  if (!isRecord(c)) return undefined
  const out: Record<string, string | number> = {}
  for (const key of ['name', 'id', 'image', 'status', 'state']) if (typeof c[key] === 'string') out[key] = (c[key] as string).slice(0, 256)
  if (Object.keys(out).length === 0) return undefined
  // Per-container usage (issue #13): percent of one core, MB; anything else is dropped.
  for (const key of ['cpuPercent', 'memoryMB']) if (typeof c[key] === 'number' && Number.isFinite(c[key]) && (c[key] as number) >= 0) out[key] = Math.min(c[key] as number, 1e9)
  return out
}

/**
 * One report as the hub keeps it: the scalars of the time series plus the detail a node page shows
 * (per-core CPU, each disk, container names, GPU), bounded so a bad agent cannot bloat a node row.
 */
function sampleOf(agentId: string, m: MetricsData): MetricsSampleInput {
  const at = typeof m.timestamp === 'string' && !Number.isNaN(Date.parse(m.timestamp)) ? new Date(m.timestamp).toISOString() : new Date().toISOString()
  const raw = m as unknown as Record<string, unknown>
  return {
    agentId,
    timestamp: at,
    cpuPercent: finite(m.cpuPercent),
    cpuPerCore: Array.isArray(m.cpuPerCore) ? m.cpuPerCore.slice(0, 1024).map(finite) : [],
    memoryUsedMB: finite(m.memoryUsedMB),
    memoryTotalMB: finite(m.memoryTotalMB),
    diskUsedGB: finite(m.diskUsedGB),
    diskTotalGB: finite(m.diskTotalGB),
    disks: Array.isArray(m.disks) ? m.disks.slice(0, 64).filter(isRecord).map((d) => ({ mount: text(d.mount, 256), usedGB: finite(d.usedGB), totalGB: finite(d.totalGB) })) : [],
    containersRunning: finite(m.containersRunning),
    containers: Array.isArray(m.containers) ? m.containers.slice(0, 500).map(containerOf).filter((c) => c !== undefined) : [],
    environmentCount: finite(m.environmentCount),
    uptimeSeconds: finite(m.uptimeSeconds),
    ...(raw.gpuCount !== undefined ? { gpuCount: finite(raw.gpuCount) } : {}),
    ...(typeof raw.gpuModel === 'string' ? { gpuModel: text(raw.gpuModel) } : {}),
    ...(raw.gpuMemoryTotalGb !== undefined ? { gpuMemoryTotalGb: finite(raw.gpuMemoryTotalGb) } : {}),
    ...hostExtrasOf(m),
  }
}

/** The optional host figures (load, swap, network, disk I/O, temperatures), already checked at the edge. */
function hostExtrasOf(m: MetricsData): Partial<MetricsData> {
  const out: Partial<MetricsData> = {}
  for (const key of ['loadAverage', 'swapUsedMB', 'swapTotalMB', 'network', 'diskIo', 'temperatures'] as const) {
    if (m[key] !== undefined && m[key] !== null) (out as Record<string, unknown>)[key] = m[key]
  }
  return out
}

export function createFleet(deps: {
  store: FleetStore
  auth: AuthService
  audit: AuditLog
  gateway: AgentGateway
  writer: MetricsWriter
  logger: Logger
  options: FleetOptions
  /** Carries live events to dashboards (`fleet:live`) and lifecycle events to plugins (`node:*`, `stack:*`). */
  bus: FleetBus
  secretBox: SecretBox
}): Fleet {
  const { store, gateway, writer, logger, options, bus } = deps
  const emit = (event: FleetLiveEvent) => bus.emit('fleet:live', event)
  // Dashboards and plugins hear of a node going away from the same place, so they cannot disagree.
  const nodeOffline = (accountId: string, nodeId: string, reason: NodeOfflineEvent['reason'], lastSeenAt?: string) => {
    emit(live.offline(accountId, nodeId, lastSeenAt))
    bus.emit('node:offline', { accountId, nodeId, reason, ...(lastSeenAt ? { lastSeenAt } : {}) })
  }
  const nodeRemoved = (accountId: string, nodeId: string, reason: NodeRemovedEvent['reason']) => {
    emit(live.removed(accountId, nodeId))
    bus.emit('node:removed', { accountId, nodeId, reason })
  }
  let midtiers: MidtierRouter | undefined
  const serial = createKeyedQueue()

  const onGateway = (accountId: string, agentId: string) => gateway.agent(agentId)?.principal.accountId === accountId
  const connectedHere = (accountId: string, agentId: string) => onGateway(accountId, agentId) || Boolean(midtiers?.connectionFor(accountId, agentId))

  const routeOf = (node: NodeRecord): CommandRoute | undefined => {
    if (onGateway(node.accountId, node.id)) {
      return {
        via: 'hub',
        send(command, timeoutMs) {
          gateway.sendCommand(node.id, command, { timeoutMs }).catch(() => {})
        },
      }
    }
    const connectionId = midtiers?.connectionFor(node.accountId, node.id)
    if (connectionId) return { via: node.connectionTier ?? 'midtier', send: (command) => midtiers!.send(connectionId, node.id, command) }
    return undefined
  }

  /** Closes the connection of an agent this hub holds (directly or through a mid-tier). */
  const disconnectHere = (accountId: string, nodeId: string, reason: string) => {
    if (onGateway(accountId, nodeId)) gateway.disconnectAgent(nodeId, reason)
    else midtiers?.disconnectAgent(accountId, nodeId, reason)
  }

  // Nodes whose agents this hub process holds now, as registered: a command for one needs no lookup.
  const held = new Map<string, NodeRecord>()
  const heldKey = (accountId: string, agentId: string) => `${accountId}/${agentId}`

  const presence = store.mesh
    ? createHubPresence({
        mesh: store.mesh,
        ttlMs: options.hubLeaseTtlMs ?? 15_000,
        logger,
        onMessage(message) {
          if (remoteStreams?.receive(message)) return
          const parsed = parseRelayMessage(message)
          if (parsed?.k === 'disconnect') disconnectHere(parsed.accountId, parsed.id, parsed.reason)
          else void dispatcher.receive(message)
        },
        onRelisten: () => void dispatcher.resync(options.commandTimeoutMs).catch((e) => logger.warn(`Catching up on commands relayed while this hub was not listening failed: ${(e as Error).message}`)),
        onBeat(stopped) {
          leases.hubsStopped(stopped)
          remoteStreams?.hubsStopped(stopped)
          dispatcher.holdersChanged()
          if (stopped.length > 0) void holdersStopped(stopped).catch((e) => logger.warn(`Showing the nodes of a stopped hub as reconnecting failed: ${(e as Error).message}`))
        },
      })
    : undefined
  const dispatcher = createDispatcher(
    store,
    routeOf,
    logger,
    presence && store.mesh
      ? {
          mesh: store.mesh,
          hubId: presence.hubId,
          alive: presence.alive,
          label: presence.label,
          node: async (accountId, nodeId) => held.get(heldKey(accountId, nodeId)) ?? (await store.getNode(accountId, nodeId)),
          open: (args) => openStackFiles(args, deps.secretBox),
          staleMs: (options.hubLeaseTtlMs ?? 15_000) * 1.5,
        }
      : undefined,
  )
  const guard = createRegistrationGuard(store, options.registration)

  /** Dashboards on this hub see the nodes a stopped hub held turn "reconnecting". */
  async function holdersStopped(stopped: string[]) {
    const byAccount = new Map<string, string[]>()
    for (const hub of stopped) {
      for (const node of await store.mesh!.heldBy(hub)) byAccount.set(node.accountId, [...(byAccount.get(node.accountId) ?? []), node.id])
    }
    for (const [accountId, ids] of byAccount) {
      invalidateNodes(accountId)
      await nodesChanged(accountId, ids)
    }
  }

  // Nodes other live hubs hold, as they announced them or as last read: a command for one needs no
  // lookup. A stale entry costs nothing worse than the holder passing the command on.
  let leases: LeaseMap = noLeases

  /** The node a command goes to: one this hub holds straight from memory, any other from the store. */
  async function commandTarget(accountId: string, idOrName: string): Promise<NodeRecord> {
    const key = heldKey(accountId, idOrName)
    const mine = held.get(key)
    if (mine) return mine
    const known = leases.get(accountId, idOrName)
    if (known && presence?.alive(known.heldBy!)) return known
    const node = await findNode(accountId, idOrName)
    if (presence && node.heldBy && node.heldBy !== presence.hubId) {
      // The holder may have started after this hub's last heartbeat: look again before calling the node unreachable.
      if (!presence.alive(node.heldBy)) await presence.check(node.heldBy)
      if (presence.alive(node.heldBy) && node.id === idOrName) leases.remember(node)
    }
    return node
  }

  async function findNode(accountId: string, idOrName: string): Promise<NodeRecord> {
    const found = await store.findNode(accountId, idOrName)
    if (found && found.id !== idOrName) {
      // A hostname two nodes share (one key registered both) must not pick one of them silently.
      const named = (await store.listNodes(accountId)).filter((n) => n.hostname === idOrName)
      if (named.length > 1) throw conflict('ambiguous_node', `Hostname '${idOrName}' names ${named.length} nodes (${named.map((n) => n.id).join(', ')}); use the node's id.`)
    }
    if (found) return found
    if (idOrName.length >= 4) {
      const matches = (await store.listNodes(accountId)).filter((n) => n.id.startsWith(idOrName))
      if (matches.length === 1) return matches[0]!
      if (matches.length > 1) throw conflict('ambiguous_node', `'${idOrName}' matches ${matches.length} nodes; give more of the id.`)
    }
    throw notFound(`No node '${idOrName}' in this account.`)
  }

  // The stored status, not "connected here": a connected agent that stops reporting goes offline too.
  // With several hubs, an online node whose holding hub stopped is "reconnecting" until its agent
  // registers with another hub (a new lease) or it goes silent long enough to be offline.
  const statusOf = (node: NodeRecord): NodeDetail['status'] => {
    if (node.status !== 'online' || !presence) return node.status
    if (node.heldBy && presence.alive(node.heldBy)) return 'online'
    if (node.heldBy) void presence.check(node.heldBy)
    return 'reconnecting'
  }

  async function details(accountId: string, nodes: NodeRecord[]): Promise<NodeDetail[]> {
    const clusters = new Map((await store.listClusters(accountId)).map((c) => [c.id, c.name]))
    return nodes.map((n) => nodeDetail(n, statusOf(n), n.clusterId ? (clusters.get(n.clusterId) ?? null) : null))
  }

  // Node lists are the hot read (dashboards and CLIs poll them): one store query per account per second.
  const nodeLists = new Map<string, { at: number; value: Promise<{ nodes: NodeDetail[]; json: string }> }>()
  const invalidateNodes = (accountId: string) => nodeLists.delete(accountId)
  const cachedNodes = (accountId: string) => {
    const hit = nodeLists.get(accountId)
    if (hit && Date.now() - hit.at < 1000) return hit.value
    const value = (async () => {
      const records = await store.listNodes(accountId)
      const nodes = await details(accountId, records.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id)))
      return { nodes, json: JSON.stringify({ nodes }) }
    })()
    nodeLists.set(accountId, { at: Date.now(), value })
    value.catch(() => invalidateNodes(accountId))
    return value
  }

  async function nodesChanged(accountId: string, ids: string[]) {
    const records = (await Promise.all(ids.map((id) => store.getNode(accountId, id)))).filter((n): n is NodeRecord => n !== undefined)
    for (const node of await details(accountId, records)) emit(live.updated(accountId, node))
  }

  /** Copies of the node's record kept in memory (here and on other hubs) learn its new cluster. */
  function clusterChanged(accountId: string, nodeId: string, clusterId: string | null) {
    const key = heldKey(accountId, nodeId)
    const mine = held.get(key)
    if (mine) {
      const { clusterId: _, ...rest } = mine
      held.set(key, clusterId ? { ...rest, clusterId } : rest)
    }
    leases.changed(accountId, nodeId)
  }

  async function clusterNamed(accountId: string, name: string) {
    const cluster = await store.getClusterByName(accountId, name)
    if (!cluster) throw notFound(`No cluster named '${name}' in this account.`)
    return cluster
  }

  const stacks = createStackOperations({
    store,
    audit: deps.audit,
    dispatcher,
    commandTimeoutMs: options.commandTimeoutMs,
    bus,
    findNode: commandTarget,
    reachable: (node) => dispatcher.reachable(node, routeOf(node) !== undefined),
    logger,
    secretBox: deps.secretBox,
    async nodeName(accountId, nodeId) {
      if (!nodeId) return null
      return (await store.getNode(accountId, nodeId))?.hostname ?? null
    },
  })
  dispatcher.onFinished((record) => stacks.applyResult(record))
  const nodeObjects = createNodeObjects({ store, dispatcher, audit: deps.audit, findNode: commandTarget, timeoutMs: options.commandTimeoutMs })

  /** A stream on a node whose agent is connected to this hub (directly or through a mid-tier). */
  const openHere = (node: NodeRecord, open: StreamOpen) => {
    if (onGateway(node.accountId, node.id)) return gateway.openStream(node.id, open)
    const connectionId = midtiers?.connectionFor(node.accountId, node.id)
    return connectionId ? midtiers!.openStream(connectionId, node.id, open) : undefined
  }
  // Logs and exec sessions for a node another hub holds go through that hub.
  const remoteStreams = presence
    ? createRemoteStreams({
        hubId: presence.hubId,
        post: (to, message) => store.mesh!.post(to, message),
        openHere(accountId, nodeId, open) {
          const node = held.get(heldKey(accountId, nodeId))
          return node && openHere(node, open)
        },
        label: presence.label,
        logger,
      })
    : undefined

  const streams = createFleetStreams({
    open(node, open) {
      const here = openHere(node, open)
      if (here) return here
      if (remoteStreams && node.heldBy && node.heldBy !== presence!.hubId && presence!.alive(node.heldBy)) return remoteStreams.open(node.heldBy, node, open)
      throw conflict('node_offline', `Node ${node.hostname} is not connected to this hub, so its containers cannot be reached; bring its agent back online and try again.`)
    },
    findNode,
    async findStack(accountId, name) {
      const stack = await store.getStackByName(accountId, name)
      if (!stack) throw notFound(`No stack named '${name}' in this account.`)
      if (!stack.nodeId) throw conflict('stack_not_deployed', `Stack ${name} is not deployed on any node.`)
      const node = await store.getNode(accountId, stack.nodeId)
      if (!node) throw conflict('stack_not_deployed', `The node stack ${name} ran on is gone.`)
      return { stack, node }
    },
    audit: deps.audit,
    idleMs: () => options.execIdleMs ?? 15 * 60_000,
    logger,
  })

  const ingress: FleetIngress = {
    admit(accountId, keyId, info) {
      return serial(`${accountId}/${info.agentId}`, () => guard.admit(accountId, keyId, info))
    },
    register(principal, info, tier, keyId, transport) {
      return serial(`${principal.accountId}/${info.agentId}`, async () => {
        const now = new Date().toISOString()
        const record = await store.upsertNode({
          id: info.agentId,
          accountId: principal.accountId,
          hostname: text(info.hostname) || info.agentId,
          platform: text(info.platform),
          osVersion: text(info.osVersion),
          ipAddress: text(info.ipAddress, 64),
          architecture: text(info.architecture, 64),
          containerRuntime: text(info.containerRuntime, 64),
          agentVersion: text(info.threshVersion, 64),
          cpuCores: finite(info.cpuCores),
          ramTotalGb: finite(info.ramTotalGb),
          diskTotalGb: finite(info.diskTotalGb),
          connectionTier: tier,
          ...(keyId ? { keyId } : {}),
          info: info as unknown as Record<string, unknown>,
          lastSeenAt: now,
          ...(presence ? { heldBy: presence.hubId } : {}),
        })
        // Registered through a connection of this hub (the gateway, or a mid-tier that routes to it right after).
        held.set(heldKey(principal.accountId, record.id), record)
        leases.held(record)
        invalidateNodes(principal.accountId)
        // A reconnect storm registers every agent at once: ask for the cluster's name only when there is one.
        const cluster = record.clusterId ? ((await store.getCluster(principal.accountId, record.clusterId))?.name ?? null) : null
        emit(live.registered(principal.accountId, nodeDetail(record, statusOf(record), cluster)))
        bus.emit('node:registered', {
          accountId: principal.accountId,
          nodeId: record.id,
          hostname: record.hostname,
          connectionTier: tier,
          ...(transport ? { transport } : {}),
          ...(keyId ? { keyId } : {}),
        })
        // Outside this serial section: the node answers list_environments only after registering.
        setTimeout(() => {
          stacks.reconcile(record).catch((e) => logger.warn(`Reconciling the stacks of node ${record.hostname} failed: ${(e as Error).message}`))
        }, 0)
      })
    },
    metrics(accountId, agentId, m) {
      const sample = sampleOf(agentId, m)
      writer.add(accountId, sample)
      emit(live.metrics(accountId, agentId, sample))
      return true
    },
    async metricsBatch(accountId, batch) {
      const samples = batch.map(({ agentId, metrics }) => sampleOf(agentId, metrics))
      await writer.write(accountId, samples)
      for (const sample of samples) emit(live.metrics(accountId, sample.agentId, sample))
      return samples.length
    },
    async commandResult(accountId, agentId, result) {
      await dispatcher.handleResult(accountId, agentId, result)
      emit(live.commandResult(accountId, agentId, result))
    },
    async statusUpdate(accountId, agentId, update) {
      if (!(await stacks.statusUpdate(accountId, agentId, update as unknown as Record<string, unknown>))) {
        logger.debug(`Ignored a service status from node ${agentId}: it is not the node of stack ${String(update?.stackId).slice(0, 64)}.`)
        return
      }
      emit(live.serviceStatus(accountId, agentId, update as unknown as Record<string, unknown>))
    },
    gone(accountId, agentId, tier) {
      return serial(`${accountId}/${agentId}`, async () => {
        if (connectedHere(accountId, agentId)) return
        held.delete(heldKey(accountId, agentId))
        if (presence) {
          leases.left(accountId, agentId)
          // Only while this hub still holds the lease: the agent may have registered with another hub already.
          if (await store.mesh!.release(accountId, agentId, presence.hubId)) nodeOffline(accountId, agentId, 'disconnected')
          invalidateNodes(accountId)
          return
        }
        const node = await store.getNode(accountId, agentId)
        if (node && (node.connectionTier ?? 'hub') === tier) {
          await store.updateNode(accountId, agentId, { status: 'offline' })
          nodeOffline(accountId, agentId, 'disconnected', node.lastSeenAt)
        }
        invalidateNodes(accountId)
      })
    },
    events(accountId, agentId, events) {
      bus.emit('node:events', { accountId, nodeId: agentId, events })
    },
    midtier(accountId, midtierId, connected, certificateExpiresAt) {
      bus.emit('midtier:connection', { accountId, midtierId, connected, ...(certificateExpiresAt ? { certificateExpiresAt } : {}) })
    },
    pending: (accountId, agentId) => dispatcher.pendingFor(accountId, agentId),
  }

  const offs = [
    gateway.on('register', ({ agent, principal, transport }) => {
      void ingress
        .register({ kind: 'live', accountId: principal.accountId, keyId: principal.keyId, roles: [] }, agent as AgentInfo, 'hub', principal.keyId, transport)
        .catch((e) => logger.warn(`Recording node ${agent.agentId} failed: ${(e as Error).message}`))
    }),
    gateway.on('metrics', ({ agentId, metrics, principal }) => void ingress.metrics(principal.accountId, agentId, metrics as MetricsData)),
    gateway.on('commandResult', ({ agentId, result, principal }) => {
      void ingress.commandResult(principal.accountId, agentId, result as CommandResult).catch((e) => logger.warn(`Recording a command result failed: ${(e as Error).message}`))
    }),
    gateway.on('statusUpdate', ({ agentId, update, principal }) => {
      void ingress.statusUpdate(principal.accountId, agentId, update as StackServiceStatusUpdate).catch((e) => logger.warn(`Recording a service status failed: ${(e as Error).message}`))
    }),
    gateway.on('events', ({ agentId, events, principal }) => ingress.events(principal.accountId, agentId, events)),
    gateway.on('disconnect', ({ agentId, principal }) => {
      void ingress.gone(principal.accountId, agentId, 'hub').catch(() => {})
    }),
  ]

  // Gauges read synchronously, so the fleet's counts are refreshed in the background.
  let snapshot = { nodesOnline: 0, nodesTotal: 0, stacksByStatus: {} as Record<string, number> }
  const refreshSnapshot = async () => {
    // Counted by the store: reading every node (10,000 copied and sorted) held the event loop ~200 ms.
    const counts = await store.countNodes()
    const next = { nodesOnline: counts.online, nodesTotal: counts.total, stacksByStatus: {} as Record<string, number> }
    for (const account of await store.listAccounts()) {
      for (const stack of await store.listStacks(account.id)) next.stacksByStatus[stack.status] = (next.stacksByStatus[stack.status] ?? 0) + 1
    }
    snapshot = next
  }

  const closeKey = async (accountId: string, keyId: string, reason: string) => {
    for (const agent of gateway.agents()) {
      if (agent.principal.keyId === keyId) gateway.disconnectAgent(agent.agentId, reason)
    }
    midtiers?.closeKey(keyId, reason)
    for (const node of await store.listNodes(accountId)) {
      if (node.keyId === keyId && (node.connectionTier ?? 'hub') !== 'hub') midtiers?.disconnectAgent(accountId, node.id, reason)
    }
  }

  const sweeping = { fleet: false, keys: false, maintenance: false }
  const every = (ms: number, name: keyof typeof sweeping, fn: () => Promise<void>) => {
    const timer = setInterval(async () => {
      if (sweeping[name]) return
      sweeping[name] = true
      try {
        await fn()
      } catch (error) {
        logger.warn(`The ${name} sweep failed: ${(error as Error).message}`)
      } finally {
        sweeping[name] = false
      }
    }, ms)
    ;(timer as { unref?: () => void }).unref?.()
    return timer
  }
  const timers = [
    every(options.sweepMs, 'fleet', async () => {
      const now = Date.now()
      await writer.flush()
      const stale = await store.markStaleNodesOffline(new Date(now - options.offlineAfterMs).toISOString())
      const pruned = await store.pruneStaleNodes(new Date(now - options.staleAfterMs).toISOString())
      for (const node of [...stale, ...pruned]) invalidateNodes(node.accountId)
      for (const node of stale) nodeOffline(node.accountId, node.id, 'silent')
      for (const node of pruned) nodeRemoved(node.accountId, node.id, 'stale')
      if (pruned.length > 0) logger.info(`Removed ${pruned.length} node(s) not seen for ${Math.round(options.staleAfterMs / 60_000)} min.`)
      await refreshSnapshot()
    }),
    every(options.keySweepMs, 'keys', async () => {
      const seen = new Map<string, string>()
      for (const agent of gateway.agents()) seen.set(agent.principal.keyId, agent.principal.accountId)
      for (const connection of midtiers?.hub.connections() ?? []) {
        if (connection.principal.keyId) seen.set(connection.principal.keyId, connection.principal.accountId)
      }
      for (const [keyId, accountId] of seen) {
        if (!(await deps.auth.keyIsActive(keyId, accountId))) await closeKey(accountId, keyId, 'The key is no longer valid (revoked or past its rotation grace period).')
      }
    }),
    every(options.maintenanceMs, 'maintenance', async () => {
      await store.timeOutCommands(new Date(Date.now() - options.commandTimeoutMs * 2).toISOString(), new Date().toISOString())
      await store.pruneSessions(new Date(Date.now() - 24 * 3600_000).toISOString())
    }),
  ]
  void refreshSnapshot().catch(() => {})

  const service: FleetService = {
    async listNodes(accountId) {
      return (await cachedNodes(accountId)).nodes
    },
    async listNodesJson(accountId) {
      return (await cachedNodes(accountId)).json
    },
    async getNode(accountId, idOrName) {
      const node = await findNode(accountId, idOrName)
      const { agentId: _, ...lastMetrics } = node.lastMetrics ?? {}
      return { ...(await details(accountId, [node]))[0]!, lastMetrics: node.lastMetrics ? lastMetrics : null }
    },
    async removeNode(principal, idOrName, force) {
      const node = await findNode(principal.accountId, idOrName)
      if (statusOf(node) === 'online') {
        if (!force) throw conflict('node_online', `Node ${node.hostname} is online; stop its agent first, or remove it with force=true.`)
        const reason = 'The node was removed from the hub.'
        // Held by another live hub: that one closes the connection, as this one would its own.
        const holder = presence && node.heldBy && node.heldBy !== presence.hubId && presence.alive(node.heldBy) && !routeOf(node) ? node.heldBy : undefined
        if (holder) await store.mesh!.notify(holder, disconnectMessage(node.accountId, node.id, reason))
        else disconnectHere(node.accountId, node.id, reason)
      }
      await store.deleteNode(principal.accountId, node.id)
      held.delete(heldKey(principal.accountId, node.id))
      leases.changed(principal.accountId, node.id)
      invalidateNodes(principal.accountId)
      nodeRemoved(principal.accountId, node.id, 'removed')
      await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'node.remove', target: `node:${node.hostname}`, details: { nodeId: node.id, forced: force } })
    },
    async nodeMetrics(accountId, idOrName, from, to) {
      const node = await findNode(accountId, idOrName)
      const series = await store.queryMetrics(accountId, node.id, { from, to })
      const detail = (await details(accountId, [node]))[0]!
      return {
        id: node.id,
        hostname: node.hostname,
        status: detail.status,
        cpuPercent: detail.cpuPercent,
        ramUsedGb: detail.ramUsedGb,
        ramTotalGb: detail.ramTotalGb,
        diskUsedGb: detail.diskUsedGb,
        diskTotalGb: detail.diskTotalGb,
        gpuCount: detail.gpuCount,
        gpuModel: detail.gpuModel,
        gpuMemoryTotalGb: detail.gpuMemoryTotalGb,
        environmentCount: detail.environmentCount,
        lastSeenAt: detail.lastSeenAt,
        from: from.toISOString(),
        to: to.toISOString(),
        resolution: series.resolution,
        stepMs: series.stepMs,
        points: series.points.map(metricsPoint),
      }
    },
    async runTool(principal, idOrName, tool, args, timeoutMs) {
      const node = await commandTarget(principal.accountId, idOrName)
      const { done } = await dispatcher.dispatch(node, tool, args, { timeoutMs })
      if (tool === 'create_environment') {
        await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'node.up', target: `node:${node.hostname}`, details: args })
      }
      const record = await done
      return { commandId: record.id, status: record.status, output: record.output ?? '', error: record.error || null }
    },
    async listClusters(accountId) {
      return (await store.listClusters(accountId)).sort((a, b) => a.name.localeCompare(b.name)).map((c) => clusterSummary(c, c.nodeCount))
    },
    async createCluster(principal, { name, description }) {
      if (await store.getClusterByName(principal.accountId, name)) throw conflict('conflict', `A cluster named '${name}' already exists.`)
      const record = await store.createCluster({ id: newId(), accountId: principal.accountId, name, description: description ?? '', createdAt: new Date().toISOString() })
      await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'cluster.create', target: `cluster:${name}` })
      return clusterSummary(record, 0)
    },
    async getCluster(accountId, name) {
      const cluster = await clusterNamed(accountId, name)
      const nodes = await store.listClusterNodes(accountId, cluster.id)
      return { ...clusterSummary(cluster, nodes.length), nodes: await details(accountId, nodes) }
    },
    async deleteCluster(principal, name) {
      const cluster = await clusterNamed(principal.accountId, name)
      const members = await store.listClusterNodes(principal.accountId, cluster.id)
      await store.deleteCluster(principal.accountId, cluster.id)
      invalidateNodes(principal.accountId)
      await nodesChanged(principal.accountId, members.map((n) => n.id))
      await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'cluster.delete', target: `cluster:${name}` })
    },
    async addClusterNode(principal, name, ref) {
      const cluster = await clusterNamed(principal.accountId, name)
      const node = await findNode(principal.accountId, ref)
      if (node.clusterId && node.clusterId !== cluster.id) {
        const other = await store.getCluster(principal.accountId, node.clusterId)
        throw conflict('conflict', `Node ${node.hostname} already belongs to cluster '${other?.name ?? node.clusterId}'; remove it from there first.`)
      }
      await store.setNodeCluster(principal.accountId, node.id, cluster.id)
      clusterChanged(principal.accountId, node.id, cluster.id)
      invalidateNodes(principal.accountId)
      await nodesChanged(principal.accountId, [node.id])
      await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'cluster.add-node', target: `cluster:${name}`, details: { node: node.hostname } })
      return service.getCluster(principal.accountId, name)
    },
    async removeClusterNode(principal, name, ref) {
      const cluster = await clusterNamed(principal.accountId, name)
      const node = await findNode(principal.accountId, ref)
      if (node.clusterId !== cluster.id) throw notFound(`Node ${node.hostname} is not in cluster '${name}'.`)
      await store.setNodeCluster(principal.accountId, node.id, null)
      clusterChanged(principal.accountId, node.id, null)
      invalidateNodes(principal.accountId)
      await nodesChanged(principal.accountId, [node.id])
      await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'cluster.remove-node', target: `cluster:${name}`, details: { node: node.hostname } })
    },
    // Commands in flight here, or answered with the result's write still under way, read as this hub knows them.
    listCommands: async (accountId, limit) => (await store.listCommands(accountId, { limit })).map((c) => dispatcher.known(accountId, c.id) ?? c),
    getCommand: async (accountId, id) => dispatcher.known(accountId, id) ?? (await store.getCommand(accountId, id)),
    stacks,
    nodeObjects,
    streams,
    stats: () => ({
      ...snapshot,
      commandsInFlight: dispatcher.inFlight,
      midtiers: midtiers?.midtiers ?? 0,
      agentsConnected: gateway.agents().length,
    }),
  }

  return {
    service,
    ingress,
    dispatcher,
    async start() {
      // Listening for other hubs' leases before this hub shows itself alive to them.
      if (presence) leases = await startLeaseMap({ notifications: notificationsOf(store), hubId: presence.hubId, hasPeers: presence.hasPeers, logger })
      await presence?.start()
    },
    attachMidtiers(router) {
      midtiers = router
    },
    midtierStreams: () => midtiers?.streams ?? { bytes: 0, dropped: 0, size: 0 },
    closeKey,
    async close() {
      for (const timer of timers) clearInterval(timer)
      for (const off of offs) off()
      dispatcher.close()
      streams.close()
      remoteStreams?.close()
      await writer.close()
      await presence?.stop()
      await leases.close()
    },
  }
}
