// `/midtierhub`: external mid-tiers (mid key) relay their agents' registrations, metric batches,
// command results and service status here, and receive commands for those agents (docs/protocol.md).
import type { AgentCommand, AgentEvent, AgentInfo, AgentTransportName, CommandResult, MetricsData, StackServiceStatusUpdate } from '../../lib/agent-session/protocol.ts'
import { checkAgentEvents, checkAgentInfo, checkCommandResult, checkMetricsData, checkStatusUpdate } from '../../lib/agent-session/wire-checks.ts'
import { HubException, type Hub, type SignalRServer } from '../../lib/signalr/index.ts'
import type { AuthService, Principal } from '../hub-auth/index.ts'

/** What the fleet does with what a mid-tier relays. */
export interface FleetIngress {
  /** Refuses (403/409/429 ThreshError) a key registering a node id or hostname it may not have. */
  admit?(accountId: string, keyId: string | undefined, info: AgentInfo): Promise<void>
  /** `transport` is known only for agents connected straight to this hub. */
  register(principal: Principal, info: AgentInfo, tier: string, keyId?: string, transport?: AgentTransportName): Promise<void>
  metrics(accountId: string, agentId: string, metrics: MetricsData): boolean
  /**
   * Resolves with how many samples were stored once they are durably written; rejects if they could
   * not be. Without it (test doubles) samples go one by one through `metrics`.
   */
  metricsBatch?(accountId: string, samples: Array<{ agentId: string; metrics: MetricsData }>): Promise<number>
  commandResult(accountId: string, agentId: string, result: CommandResult): Promise<void>
  statusUpdate(accountId: string, agentId: string, update: StackServiceStatusUpdate): Promise<void>
  /** Container events an agent saw (checked already). */
  events(accountId: string, agentId: string, events: AgentEvent[]): void
  gone(accountId: string, agentId: string, tier: string): Promise<void>
  /** A mid-tier connected (registered itself) or its connection closed. */
  midtier?(accountId: string, midtierId: string, connected: boolean, certificateExpiresAt?: string): void
  /** Commands still waiting for this agent, sent again when a mid-tier (re)registers it. */
  pending(accountId: string, agentId: string): AgentCommand[]
}

export interface MidtierRouter {
  readonly hub: Hub<Principal>
  /** The connection relaying `agentId` of `accountId`, if any mid-tier here holds it. */
  connectionFor(accountId: string, agentId: string): string | undefined
  send(connectionId: string, agentId: string, command: AgentCommand): void
  disconnectAgent(accountId: string, agentId: string, reason: string): void
  /** Closes mid-tier connections made with this key. */
  closeKey(keyId: string, reason: string): void
  readonly midtiers: number
}

const MIDTIER_ID = 'midtierId'
const AGENTS = 'agents'
const SENT = 'sent'
// Commands remembered per connection for late answers; the oldest are forgotten past this many.
const MAX_SENT = 10_000

const fail = (message: string) => new HubException(message)
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
// A mid key is a tenant's credential too: what a mid-tier relays gets the agent edge's checks again.
const valid = <T>(check: () => T): T | undefined => {
  try {
    return check()
  } catch {
    return undefined
  }
}
const checked = <T>(check: () => T): T => {
  try {
    return check()
  } catch (error) {
    throw fail((error as Error).message)
  }
}

export function mountMidtierHub(signalr: SignalRServer, auth: AuthService, fleet: FleetIngress): MidtierRouter {
  // accountId/agentId -> connectionId
  const routes = new Map<string, string>()
  const keyOf = (accountId: string, agentId: string) => `${accountId}/${agentId}`
  const agentsOf = (items: Map<string, unknown>) => {
    let set = items.get(AGENTS) as Set<string> | undefined
    if (!set) items.set(AGENTS, (set = new Set()))
    return set
  }
  // commandId -> agentId of every command sent through a connection and not yet answered, so a result or
  // a status update still counts after the mid-tier reported the agent gone (it finished the work).
  const sentOf = (items: Map<string, unknown>) => {
    let map = items.get(SENT) as Map<string, string> | undefined
    if (!map) items.set(SENT, (map = new Map()))
    return map
  }
  const sentHere = (ctx: { items: Map<string, unknown> }, agentId: string, commandId?: unknown) => {
    const sent = ctx.items.get(SENT) as Map<string, string> | undefined
    if (!sent) return false
    if (commandId !== undefined) return typeof commandId === 'string' && sent.get(commandId) === agentId
    for (const owner of sent.values()) if (owner === agentId) return true
    return false
  }
  const remember = (connectionId: string, agentId: string, command: AgentCommand) => {
    const connection = hub.connection(connectionId)
    if (!connection || typeof command.commandId !== 'string') return
    const sent = sentOf(connection.items)
    sent.set(command.commandId, agentId)
    if (sent.size > MAX_SENT) sent.delete(sent.keys().next().value as string)
  }
  const tierOf = (ctx: { items: Map<string, unknown>; connectionId: string }) => (ctx.items.get(MIDTIER_ID) as string | undefined) ?? `midtier-${ctx.connectionId.slice(0, 8)}`
  const owned = (ctx: { principal: Principal; connectionId: string }, agentId: unknown): agentId is string =>
    typeof agentId === 'string' && routes.get(keyOf(ctx.principal.accountId, agentId)) === ctx.connectionId

  const hub: Hub<Principal> = signalr.mapHub<Principal>('/midtierhub', {
    authenticate: ({ token }) => auth.authenticate(token, 'mid'),
    maxParallelInvocations: 4,
    methods: {
      RegisterMidTier(ctx, info: unknown) {
        const id = isObject(info) && typeof info.midtierId === 'string' && info.midtierId ? info.midtierId.slice(0, 64) : undefined
        if (id) ctx.items.set(MIDTIER_ID, `midtier-${id}`)
        const expires = isObject(info) && typeof info.certificateExpiresAt === 'string' && Number.isFinite(Date.parse(info.certificateExpiresAt)) ? new Date(info.certificateExpiresAt).toISOString() : undefined
        fleet.midtier?.(ctx.principal.accountId, tierOf(ctx), true, expires)
        return { midtierId: tierOf(ctx), accountId: ctx.principal.accountId }
      },
      async RegisterAgents(ctx, agents: unknown) {
        if (!Array.isArray(agents)) throw fail('RegisterAgents takes a list of AgentInfo.')
        const tier = tierOf(ctx)
        let registered = 0
        const refused: Array<{ agentId: string; status: number; error: string; message: string }> = []
        for (const entry of agents) {
          if (!isObject(entry)) continue
          const { keyId: rawKeyId, ...rest } = entry
          // A relayed registration gets the same shape check as one made straight to the hub.
          const info = valid(() => checkAgentInfo(rest))
          if (!info) continue
          const keyId = typeof rawKeyId === 'string' ? rawKeyId : undefined
          try {
            // The key id the mid-tier names is the one the hub gave it when validating the agent's key.
            await fleet.admit?.(ctx.principal.accountId, keyId, info as AgentInfo)
          } catch (error) {
            const status = (error as { status?: unknown }).status
            if (typeof status !== 'number' || status >= 500) throw error
            refused.push({ agentId: info.agentId, status, error: String((error as { code?: unknown }).code ?? 'refused'), message: (error as Error).message })
            continue
          }
          await fleet.register(ctx.principal, info as AgentInfo, tier, keyId)
          routes.set(keyOf(ctx.principal.accountId, info.agentId), ctx.connectionId)
          agentsOf(ctx.items).add(info.agentId)
          registered++
          for (const command of fleet.pending(ctx.principal.accountId, info.agentId)) {
            remember(ctx.connectionId, info.agentId, command)
            hub.clients.client(ctx.connectionId).send('ExecuteCommand', info.agentId, command)
          }
        }
        // A mid-tier that reads `refused` disconnects those agents; older ones at least route nothing to them.
        return refused.length > 0 ? { registered, refused } : { registered }
      },
      // `accepted` is answered only once the samples are in the store (a committed transaction on
      // PostgreSQL), so a mid-tier may forget what the hub acknowledged: a hub killed right after loses none.
      async SendMetricsBatch(ctx, batch: unknown) {
        if (!Array.isArray(batch)) throw fail('SendMetricsBatch takes a list of MetricsData.')
        const samples: Array<{ agentId: string; metrics: MetricsData }> = []
        for (const sample of batch) {
          if (!isObject(sample) || !owned(ctx, sample.agentId)) continue
          const metrics = valid(() => checkMetricsData(sample))
          if (metrics) samples.push({ agentId: sample.agentId, metrics })
        }
        if (!fleet.metricsBatch) return { accepted: samples.filter((s) => fleet.metrics(ctx.principal.accountId, s.agentId, s.metrics)).length }
        try {
          return { accepted: await fleet.metricsBatch(ctx.principal.accountId, samples) }
        } catch {
          throw fail('The hub could not store these metrics right now; keep them and send them again.')
        }
      },
      async SendCommandResult(ctx, result: unknown) {
        if (!isObject(result) || typeof result.agentId !== 'string' || !(owned(ctx, result.agentId) || sentHere(ctx, result.agentId, result.commandId))) {
          throw fail('SendCommandResult needs a CommandResult for an agent this mid-tier registered, or for a command the hub sent through it.')
        }
        await fleet.commandResult(ctx.principal.accountId, result.agentId, checked(() => checkCommandResult(result)))
        if (typeof result.commandId === 'string') sentOf(ctx.items).delete(result.commandId)
      },
      async StackServiceStatusUpdate(ctx, agentId: unknown, update: unknown) {
        if (typeof agentId !== 'string' || !isObject(update) || !(owned(ctx, agentId) || sentHere(ctx, agentId))) {
          throw fail('StackServiceStatusUpdate takes (agentId, update) for an agent this mid-tier registered, or one the hub sent a command through it.')
        }
        await fleet.statusUpdate(ctx.principal.accountId, agentId, checked(() => checkStatusUpdate(update)))
      },
      SendEvents(ctx, agentId: unknown, events: unknown) {
        if (!owned(ctx, agentId)) throw fail('SendEvents takes (agentId, events) for an agent this mid-tier registered.')
        fleet.events(ctx.principal.accountId, agentId, checked(() => checkAgentEvents(events)))
      },
      async AgentDisconnected(ctx, agentId: unknown) {
        if (!owned(ctx, agentId)) return
        routes.delete(keyOf(ctx.principal.accountId, agentId))
        agentsOf(ctx.items).delete(agentId)
        await fleet.gone(ctx.principal.accountId, agentId, tierOf(ctx))
      },
    },
    async onDisconnected(connection) {
      const tier = (connection.items.get(MIDTIER_ID) as string | undefined) ?? `midtier-${connection.connectionId.slice(0, 8)}`
      fleet.midtier?.(connection.principal.accountId, tier, false)
      for (const agentId of agentsOf(connection.items)) {
        const key = keyOf(connection.principal.accountId, agentId)
        if (routes.get(key) !== connection.connectionId) continue
        routes.delete(key)
        await fleet.gone(connection.principal.accountId, agentId, tier)
      }
    },
  })

  return {
    hub,
    connectionFor: (accountId, agentId) => {
      const id = routes.get(keyOf(accountId, agentId))
      return id && hub.connection(id) ? id : undefined
    },
    send(connectionId, agentId, command) {
      remember(connectionId, agentId, command)
      hub.clients.client(connectionId).send('ExecuteCommand', agentId, command)
    },
    disconnectAgent(accountId, agentId, reason) {
      const id = routes.get(keyOf(accountId, agentId))
      if (id) hub.clients.client(id).send('DisconnectAgent', agentId, reason)
    },
    closeKey(keyId, reason) {
      for (const connection of hub.connections()) {
        if (connection.principal.keyId === keyId) hub.abort(connection.connectionId, reason)
      }
    },
    get midtiers() {
      return hub.connectionCount
    },
  }
}
