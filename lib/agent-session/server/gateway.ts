// The server side of agent sessions: both transports feed one gateway, which emits what agents send
// and routes commands to whichever transport an agent is on, at least once until a result arrives.
import type {
  AgentCommand,
  AgentEvent,
  AgentInfo,
  AgentTransportName,
  CommandResult,
  MetricsData,
  StackServiceStatusUpdate,
} from '../protocol.ts'
import { checkAgentEvents, checkAgentInfo, checkCommandResult, checkMetricsData, checkStatusUpdate, WireShapeError } from '../wire-checks.ts'

/** Who an agent key belongs to, as returned by the injected authenticator. */
export interface AgentPrincipal {
  accountId: string
  keyId: string
  scope: string
}

/**
 * Validates a bearer credential. Throw an error carrying `status` 401 (missing, unknown, revoked)
 * or 403 (wrong scope), e.g. a ThreshError.
 */
export type AgentAuthenticator = (bearerToken: string | undefined) => AgentPrincipal | Promise<AgentPrincipal>

/**
 * Decides whether a key may register an agent id (the id is bound to the key that registered it, a
 * hostname to one node, limits on new nodes). Throw an error carrying `status` 403, 409 or 429 (with
 * `details.retryAfterSeconds`) to refuse; the agent already connected under that id is left alone.
 */
export type AgentAdmission = (principal: AgentPrincipal, info: AgentInfo, transport: AgentTransportName) => void | Promise<void>

/** How a transport reaches one connected agent. */
export interface AgentBinding {
  transport: AgentTransportName
  /** Pushes a command now; transports that are polled instead leave this out. */
  deliver?(command: AgentCommand): void
  /** Ends the agent's connection (revoked key, replaced session). */
  close?(reason: string): void
}

export interface AgentGatewayEvents {
  register: { agent: AgentInfo; principal: AgentPrincipal; transport: AgentTransportName }
  metrics: { agentId: string; metrics: MetricsData; principal: AgentPrincipal }
  commandResult: { agentId: string; result: CommandResult; principal: AgentPrincipal }
  statusUpdate: { agentId: string; update: StackServiceStatusUpdate; principal: AgentPrincipal }
  events: { agentId: string; events: AgentEvent[]; principal: AgentPrincipal }
  disconnect: { agentId: string; principal: AgentPrincipal; transport: AgentTransportName }
}

export interface ConnectedAgent {
  agentId: string
  principal: AgentPrincipal
  info: AgentInfo
  transport: AgentTransportName
  connectedAt: number
  lastSeen: number
}

export interface SendCommandOptions {
  /** Resolve with an error result if no result arrives in time (default: wait indefinitely). */
  timeoutMs?: number
}

export interface AgentGateway {
  readonly authenticate: AgentAuthenticator
  on<K extends keyof AgentGatewayEvents>(event: K, listener: (payload: AgentGatewayEvents[K]) => void): () => void
  /** Queues a command for an agent and resolves with its result. */
  sendCommand(agentId: string, command: AgentCommand, options?: SendCommandOptions): Promise<CommandResult>
  isConnected(agentId: string): boolean
  agent(agentId: string): ConnectedAgent | undefined
  agents(): ConnectedAgent[]
  /** Closes an agent's connection, e.g. after its key was revoked. */
  disconnectAgent(agentId: string, reason: string): void

  // Transport-facing side.
  /** Rejects, leaving any session under that id untouched, when the admission refuses the key. */
  register(principal: AgentPrincipal, info: AgentInfo, binding: AgentBinding): Promise<void>
  /**
   * The report methods resolve (or return undefined at once) when what they handed on is kept: the
   * transport answers the agent only then, so an answered report survives a crash (see `setDurable`).
   */
  metrics(principal: AgentPrincipal, agentId: string, metrics: MetricsData): Promise<void> | undefined
  commandResult(principal: AgentPrincipal, agentId: string, result: CommandResult): Promise<void> | undefined
  statusUpdate(principal: AgentPrincipal, agentId: string, update: StackServiceStatusUpdate): Promise<void> | undefined
  events(principal: AgentPrincipal, agentId: string, events: AgentEvent[]): Promise<void> | undefined
  /**
   * What the report listeners' persistence promises: a mid-tier's journal resolves once this tick's
   * lines are written (one write for every report of the tick), so agents are answered after that.
   */
  setDurable(durable: () => Promise<void> | undefined): void
  disconnected(agentId: string, binding: AgentBinding): void
  /** Long poll for a polling transport: commands not yet delivered, or due for redelivery. */
  takeCommands(principal: AgentPrincipal, agentId: string, waitMs: number, signal?: AbortSignal): Promise<AgentCommand[]>
  /** A poll response carrying these commands never reached the agent. */
  returnCommands(agentId: string, commands: AgentCommand[]): void
  /** Throws a 403-style error when `agentId` is registered under another account or key. */
  assertOwner(principal: AgentPrincipal, agentId: string): void
  close(): void
}

export interface AgentGatewayOptions {
  authenticate: AgentAuthenticator
  /**
   * Who may register which agent id. Without one, an id connected under one key is refused to
   * another key (all a server without a store can know).
   */
  admit?: AgentAdmission
  /** A delivered command without a result is delivered again after this (default 30 s). */
  redeliveryMs?: number
  /** A polling agent that has not polled for this long counts as disconnected (default 90 s). */
  pollingOfflineMs?: number
  /** How many finished commandIds are remembered to drop duplicate results (default 10 000). */
  rememberResults?: number
  /** Told of every report refused for its shape (wire-checks.ts), e.g. to count them; it never reaches listeners. */
  onRefused?: (error: WireShapeError, principal: AgentPrincipal) => void
}

interface PendingCommand {
  command: AgentCommand
  deliveredAt: number | null
  waiters: Array<(result: CommandResult) => void>
}

class GatewayError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export function createAgentGateway(options: AgentGatewayOptions): AgentGateway {
  const redeliveryMs = options.redeliveryMs ?? 30_000
  const pollingOfflineMs = options.pollingOfflineMs ?? 90_000
  const rememberResults = options.rememberResults ?? 10_000
  let durable: (() => Promise<void> | undefined) | undefined
  const listeners = new Map<string, Set<(payload: never) => void>>()
  const agents = new Map<string, ConnectedAgent & { binding: AgentBinding | null }>()
  const pending = new Map<string, Map<string, PendingCommand>>()
  const pollers = new Map<string, Set<() => void>>()
  const finished = new Set<string>()
  const polling = new Map<string, number>()

  const emit = <K extends keyof AgentGatewayEvents>(event: K, payload: AgentGatewayEvents[K]) => {
    for (const listener of listeners.get(event) ?? []) {
      try {
        ;(listener as (p: AgentGatewayEvents[K]) => void)(payload)
      } catch {
        // A listener's failure must not break the session that fed the event.
      }
    }
  }

  const queueOf = (agentId: string) => {
    let queue = pending.get(agentId)
    if (!queue) pending.set(agentId, (queue = new Map()))
    return queue
  }

  const wakePollers = (agentId: string) => {
    const waiting = pollers.get(agentId)
    if (!waiting) return
    pollers.delete(agentId)
    for (const wake of waiting) wake()
  }

  const push = (agentId: string) => {
    const agent = agents.get(agentId)
    const queue = pending.get(agentId)
    if (!agent?.binding || !queue) return
    if (agent.binding.deliver) {
      for (const entry of queue.values()) {
        entry.deliveredAt = Date.now()
        agent.binding.deliver(entry.command)
      }
    } else {
      wakePollers(agentId)
    }
  }

  const assertOwner = (principal: AgentPrincipal, agentId: string) => {
    const known = agents.get(agentId)
    if (known && known.principal.accountId !== principal.accountId) {
      throw new GatewayError(403, 'forbidden', `Agent ${agentId} belongs to another account.`)
    }
    // Another key of the same account must not speak for a node: it registered with its own key.
    if (known?.binding && known.principal.keyId !== principal.keyId) {
      throw new GatewayError(403, 'agent_key_mismatch', `Agent ${agentId} is registered with another agent key; send as the agent with the key it registered with.`)
    }
  }

  // Every transport's reports pass here, so this is the one place bad shapes are stopped.
  const checked = <T>(principal: AgentPrincipal, check: () => T): T => {
    try {
      return check()
    } catch (error) {
      if (error instanceof WireShapeError) options.onRefused?.(error, principal)
      throw error
    }
  }

  const seen = (principal: AgentPrincipal, agentId: string) => {
    assertOwner(principal, agentId)
    const agent = agents.get(agentId)
    // An unknown agent (server restarted, session swept) must register again before anything else.
    if (!agent?.binding) throw new GatewayError(409, 'agent_not_registered', `Agent ${agentId} must register first.`)
    agent.lastSeen = Date.now()
  }

  const sweep = setInterval(() => {
    const now = Date.now()
    for (const agent of agents.values()) {
      if (agent.binding && !agent.binding.deliver && !polling.get(agent.agentId) && now - agent.lastSeen > pollingOfflineMs) {
        agent.binding = null
        emit('disconnect', { agentId: agent.agentId, principal: agent.principal, transport: agent.transport })
      }
    }
    // Pushed commands without a result are pushed again, in case the first copy was lost.
    for (const [agentId, queue] of pending) {
      const binding = agents.get(agentId)?.binding
      if (!binding?.deliver) continue
      for (const entry of queue.values()) {
        if (entry.deliveredAt !== null && now - entry.deliveredAt > redeliveryMs) {
          entry.deliveredAt = now
          binding.deliver(entry.command)
        }
      }
    }
  }, Math.max(50, Math.min(1000, redeliveryMs / 2, pollingOfflineMs / 2)))
  ;(sweep as { unref?: () => void }).unref?.()

  return {
    authenticate: options.authenticate,
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (payload: never) => void)
      return () => void set.delete(listener as (payload: never) => void)
    },
    sendCommand(agentId, command, sendOptions = {}) {
      return new Promise<CommandResult>((resolve) => {
        const queue = queueOf(agentId)
        let entry = queue.get(command.commandId)
        if (!entry) {
          entry = { command, deliveredAt: null, waiters: [] }
          queue.set(command.commandId, entry)
        }
        let timer: ReturnType<typeof setTimeout> | undefined
        const settle = (result: CommandResult) => {
          if (timer) clearTimeout(timer)
          resolve(result)
        }
        entry.waiters.push(settle)
        if (sendOptions.timeoutMs !== undefined) {
          const current = entry
          timer = setTimeout(() => {
            current.waiters = current.waiters.filter((waiter) => waiter !== settle)
            const online = agents.get(agentId)?.binding ? 'did not answer' : 'is offline and did not answer'
            resolve({
              agentId,
              commandId: command.commandId,
              status: 'error',
              success: false,
              output: '',
              error: `Agent ${agentId} ${online} within ${sendOptions.timeoutMs} ms.`,
              timestamp: new Date().toISOString(),
              durationMs: sendOptions.timeoutMs ?? 0,
            })
          }, sendOptions.timeoutMs)
        }
        const binding = agents.get(agentId)?.binding
        if (binding?.deliver) {
          entry.deliveredAt = Date.now()
          binding.deliver(command)
        } else if (binding) {
          wakePollers(agentId)
        }
      })
    },
    isConnected: (agentId) => Boolean(agents.get(agentId)?.binding),
    agent(agentId) {
      const agent = agents.get(agentId)
      if (!agent?.binding) return undefined
      const { binding: _binding, ...rest } = agent
      return rest
    },
    agents() {
      return [...agents.values()].filter((a) => a.binding).map(({ binding: _binding, ...rest }) => rest)
    },
    disconnectAgent(agentId, reason) {
      const agent = agents.get(agentId)
      if (!agent?.binding) return
      const binding = agent.binding
      agent.binding = null
      binding.close?.(reason)
      wakePollers(agentId)
      emit('disconnect', { agentId, principal: agent.principal, transport: binding.transport })
    },

    async register(principal, raw, binding) {
      const info = checked(principal, () => checkAgentInfo(raw))
      const known = agents.get(info.agentId)
      if (known && known.principal.accountId !== principal.accountId) {
        throw new GatewayError(403, 'forbidden', `Agent ${info.agentId} belongs to another account.`)
      }
      if (options.admit) await options.admit(principal, info, binding.transport)
      else assertOwner(principal, info.agentId)
      const previous = agents.get(info.agentId)
      if (previous?.binding && previous.binding !== binding && previous.binding.transport !== binding.transport) {
        // The agent moved transports; the old session is stale.
        previous.binding.close?.('The agent registered on another connection.')
      }
      const now = Date.now()
      agents.set(info.agentId, {
        agentId: info.agentId,
        principal,
        info,
        transport: binding.transport,
        connectedAt: previous?.binding === binding ? previous.connectedAt : now,
        lastSeen: now,
        binding,
      })
      emit('register', { agent: info, principal, transport: binding.transport })
      // Every (re)connect redelivers what has no result yet: at least once.
      const queue = pending.get(info.agentId)
      if (queue) for (const entry of queue.values()) entry.deliveredAt = null
      push(info.agentId)
    },
    metrics(principal, agentId, raw) {
      seen(principal, agentId)
      const metrics = checked(principal, () => checkMetricsData(raw))
      emit('metrics', { agentId, metrics, principal })
      return durable?.()
    },
    setDurable(fn) {
      durable = fn
    },
    commandResult(principal, agentId, raw) {
      seen(principal, agentId)
      const result = checked(principal, () => checkCommandResult(raw))
      const key = `${agentId}\u0000${result.commandId}`
      const queue = pending.get(agentId)
      const entry = queue?.get(result.commandId)
      if (entry) {
        queue!.delete(result.commandId)
        if (queue!.size === 0) pending.delete(agentId)
      }
      for (const waiter of entry?.waiters ?? []) waiter(result)
      // A redelivered command's repeated result answers its waiters but is not a new event.
      if (finished.has(key)) return durable?.()
      finished.add(key)
      if (finished.size > rememberResults) finished.delete(finished.values().next().value as string)
      emit('commandResult', { agentId, result, principal })
      return durable?.()
    },
    statusUpdate(principal, agentId, raw) {
      seen(principal, agentId)
      const update = checked(principal, () => checkStatusUpdate(raw))
      emit('statusUpdate', { agentId, update, principal })
      return durable?.()
    },
    events(principal, agentId, raw) {
      seen(principal, agentId)
      const events = checked(principal, () => checkAgentEvents(raw))
      if (events.length > 0) emit('events', { agentId, events, principal })
      return durable?.()
    },
    disconnected(agentId, binding) {
      const agent = agents.get(agentId)
      if (!agent || agent.binding !== binding) return
      agent.binding = null
      emit('disconnect', { agentId, principal: agent.principal, transport: binding.transport })
    },
    async takeCommands(principal, agentId, waitMs, signal) {
      seen(principal, agentId)
      polling.set(agentId, (polling.get(agentId) ?? 0) + 1)
      try {
        const due = () => {
          const now = Date.now()
          const out: AgentCommand[] = []
          for (const entry of pending.get(agentId)?.values() ?? []) {
            if (entry.deliveredAt === null || now - entry.deliveredAt > redeliveryMs) {
              entry.deliveredAt = now
              out.push(entry.command)
            }
          }
          return out
        }
        let commands = due()
        if (commands.length > 0 || waitMs <= 0) return commands
        await new Promise<void>((resolve) => {
          let waiting = pollers.get(agentId)
          if (!waiting) pollers.set(agentId, (waiting = new Set()))
          const wake = () => {
            clearTimeout(timer)
            waiting!.delete(wake)
            resolve()
          }
          const timer = setTimeout(wake, waitMs)
          waiting.add(wake)
          signal?.addEventListener('abort', wake, { once: true })
        })
        if (signal?.aborted) return []
        commands = due()
        return commands
      } finally {
        const count = (polling.get(agentId) ?? 1) - 1
        if (count <= 0) polling.delete(agentId)
        else polling.set(agentId, count)
        const agent = agents.get(agentId)
        if (agent) agent.lastSeen = Date.now()
      }
    },
    returnCommands(agentId, commands) {
      const queue = pending.get(agentId)
      for (const command of commands) {
        const entry = queue?.get(command.commandId)
        if (entry) entry.deliveredAt = null
      }
    },
    assertOwner,
    close() {
      clearInterval(sweep)
      for (const waiting of pollers.values()) for (const wake of waiting) wake()
      pollers.clear()
    },
  }
}
