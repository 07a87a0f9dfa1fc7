// A stand-in for the hub's agent side while tests drive a real agent process: the agent gateway with
// /agenthub (SignalR) and REST polling on a real HTTP server, a live-key authenticator, every event
// recorded, and a restart on the same port.
import { Hono } from 'hono'
import { loadRuntime } from '../../adapters/index.ts'
import {
  createAgentGateway,
  mountAgentHub,
  mountRestPollRoutes,
  type AgentCommand,
  type AgentGateway,
  type AgentInfo,
  type AgentPrincipal,
  type CommandResult,
  type MetricsData,
  type StackServiceStatusUpdate,
} from '../../lib/agent-session/server/index.ts'
import { createSignalRServer, type SignalRServer } from '../../lib/signalr/index.ts'

export const AGENT_KEY = 'thresh_live_acct1_0123456789abcdef0123456789abcdef'

export interface ServerEvents {
  registers: Array<{ agent: AgentInfo; transport: string; at: number }>
  metrics: Array<{ agentId: string; metrics: MetricsData; at: number }>
  statuses: Array<{ agentId: string; update: StackServiceStatusUpdate; at: number }>
  results: Array<{ agentId: string; result: CommandResult }>
  disconnects: Array<{ agentId: string }>
  /** Every HTTP request and WebSocket upgrade, as `METHOD /path`. */
  requests: string[]
}

export interface AgentTestServer {
  url: string
  port: number
  events: ServerEvents
  gateway(): AgentGateway
  send(agentId: string, command: AgentCommand, timeoutMs?: number): Promise<CommandResult>
  /** Pushes a command without waiting, the way a hub redelivers it. */
  deliverRaw(agentId: string, command: AgentCommand): void
  connected(agentId: string): boolean
  stop(): Promise<void>
  start(): Promise<void>
  revoke(): void
}

function authenticator(revoked: { value: boolean }) {
  return (token: string | undefined): AgentPrincipal => {
    if (token === AGENT_KEY && !revoked.value) return { accountId: 'acct1', keyId: 'key1', scope: 'agent' }
    if (token === AGENT_KEY) throw Object.assign(new Error('This agent key was revoked.'), { status: 401, code: 'unauthorized' })
    throw Object.assign(new Error('Missing or unknown agent key.'), { status: 401, code: 'unauthorized' })
  }
}

export async function startAgentTestServer(options: { port?: number; transports?: Array<'WebSockets' | 'ServerSentEvents' | 'LongPolling'> } = {}): Promise<AgentTestServer> {
  const runtime = await loadRuntime()
  const events: ServerEvents = { registers: [], metrics: [], statuses: [], results: [], disconnects: [], requests: [] }
  const revoked = { value: false }
  let port = options.port ?? 0
  let current: { gateway: AgentGateway; signalr: SignalRServer; close(): Promise<void> } | undefined

  const start = async () => {
    const app = new Hono()
    const http = runtime.createServer(app)
    const gateway = createAgentGateway({ authenticate: authenticator(revoked), redeliveryMs: 1500, pollingOfflineMs: 3000 })
    const signalr = createSignalRServer({ app, upgradeWebSocket: http.upgradeWebSocket, pollTimeoutMs: 2000, ...(options.transports ? { transports: options.transports } : {}) } as Parameters<typeof createSignalRServer>[0])
    app.use('*', (c, next) => {
      events.requests.push(`${c.req.method} ${c.req.path}`)
      return next()
    })
    mountAgentHub(signalr, gateway)
    mountRestPollRoutes(app, gateway)
    app.get('/health', (c) => c.json({ status: 'Healthy' }))
    gateway.on('register', (e) => events.registers.push({ agent: e.agent, transport: e.transport, at: Date.now() }))
    gateway.on('metrics', (e) => events.metrics.push({ agentId: e.agentId, metrics: e.metrics, at: Date.now() }))
    gateway.on('statusUpdate', (e) => events.statuses.push({ agentId: e.agentId, update: e.update, at: Date.now() }))
    gateway.on('commandResult', (e) => events.results.push({ agentId: e.agentId, result: e.result }))
    gateway.on('disconnect', (e) => events.disconnects.push({ agentId: e.agentId }))
    const listening = await http.listen({ host: '127.0.0.1', port })
    port = listening.port
    current = {
      gateway,
      signalr,
      async close() {
        gateway.close()
        await signalr.close()
        await listening.close()
      },
    }
  }
  await start()

  return {
    get url() {
      return `http://127.0.0.1:${port}`
    },
    get port() {
      return port
    },
    events,
    gateway: () => current!.gateway,
    send: (agentId, command, timeoutMs = 60_000) => current!.gateway.sendCommand(agentId, command, { timeoutMs }),
    deliverRaw(agentId, command) {
      void current!.gateway.sendCommand(agentId, command)
    },
    connected: (agentId) => Boolean(current?.gateway.isConnected(agentId)),
    async stop() {
      const running = current
      current = undefined
      await running?.close()
    },
    start,
    revoke() {
      revoked.value = true
      for (const agent of current?.gateway.agents() ?? []) current!.gateway.disconnectAgent(agent.agentId, 'key revoked')
    },
  }
}
