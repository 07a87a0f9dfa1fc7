// Mounts the agent hub (`/agenthub`, CONTRACT §4) on a SignalR server and feeds an agent gateway.
import { HubException, type Hub, type SignalRServer } from '../../signalr/index.ts'
import type { AgentEvent, AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from '../protocol.ts'
import type { AgentBinding, AgentGateway, AgentPrincipal } from './gateway.ts'

const AGENT_ID = 'agentId'
const BINDING = 'agentBinding'

function requireObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HubException(`${name} must be an object.`)
}

// The gateway's refusals (bad shape, wrong owner, not registered) reach the agent as a Completion
// error it can read; the connection stays open. Anything else stays a generic server error.
function answering<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args)
    } catch (error) {
      const status = (error as { status?: unknown }).status
      if (typeof status === 'number' && status >= 400 && status < 500) throw new HubException((error as Error).message)
      throw error
    }
  }
}

export function mountAgentHub(signalr: SignalRServer, gateway: AgentGateway, path = '/agenthub'): Hub<AgentPrincipal> {
  const agentIdOf = (items: Map<string, unknown>): string => {
    const agentId = items.get(AGENT_ID)
    if (typeof agentId !== 'string') throw new HubException('RegisterAgent must be called first.')
    return agentId
  }
  const hub: Hub<AgentPrincipal> = signalr.mapHub<AgentPrincipal>(path, {
    authenticate: ({ token }) => gateway.authenticate(token),
    methods: {
      async RegisterAgent(ctx, info: AgentInfo) {
        requireObject(info, 'AgentInfo')
        const refusedWith = (error: unknown) => {
          const status = (error as { status?: unknown }).status
          if (typeof status !== 'number' || status < 400 || status >= 500) throw error
          // The refusal reaches the caller first; then the connection ends, for good unless it was
          // only throttled, so an impostor is not left half-registered and does not retry forever.
          const reason = `Registration refused: ${(error as Error).message}`
          setTimeout(() => hub.abort(ctx.connectionId, reason, { allowReconnect: status === 429 }), 0)
          throw new HubException(reason)
        }
        let binding = ctx.items.get(BINDING) as AgentBinding | undefined
        if (!binding) {
          const connectionId = ctx.connectionId
          binding = {
            transport: 'signalr',
            deliver: (command) => hub.clients.client(connectionId).send('ExecuteCommand', command),
            // allowReconnect: a dropped agent comes back (and a revoked key then fails negotiate with 401).
            close: (reason) => hub.abort(connectionId, reason, { allowReconnect: true }),
          }
          ctx.items.set(BINDING, binding)
        }
        try {
          await gateway.register(ctx.principal, info, binding)
        } catch (error) {
          refusedWith(error)
        }
        ctx.items.set(AGENT_ID, info.agentId)
      },
      SendMetrics: answering((ctx, metrics: MetricsData) => {
        requireObject(metrics, 'MetricsData')
        return gateway.metrics(ctx.principal, agentIdOf(ctx.items), metrics)
      }),
      SendCommandResult: answering((ctx, result: CommandResult) => {
        requireObject(result, 'CommandResult')
        return gateway.commandResult(ctx.principal, agentIdOf(ctx.items), result)
      }),
      StackServiceStatusUpdate: answering((ctx, update: StackServiceStatusUpdate) => {
        requireObject(update, 'StackServiceStatusUpdate')
        return gateway.statusUpdate(ctx.principal, agentIdOf(ctx.items), update)
      }),
      SendEvents: answering((ctx, events: AgentEvent[]) => {
        gateway.events(ctx.principal, agentIdOf(ctx.items), events)
      }),
    },
    onDisconnected(connection) {
      const agentId = connection.items.get(AGENT_ID)
      const binding = connection.items.get(BINDING) as AgentBinding | undefined
      if (typeof agentId === 'string' && binding) gateway.disconnected(agentId, binding)
    },
  })
  return hub
}
