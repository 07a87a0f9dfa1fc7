// The agent's SignalR session through the official @microsoft/signalr client: WebSockets without
// negotiate first, then negotiate and WebSockets, SSE, long polling; automatic reconnect with jittered
// delays; RegisterAgent on every (re)connect.
import * as signalR from '@microsoft/signalr'
import { loadSignalRClientOptions } from '../../../adapters/index.ts'
import type { TlsClientOptions } from '../../tls-trust.ts'
import { createCommandRunner } from './command-runner.ts'
import { jitteredDelay } from './retry.ts'
import type { AgentEvent, AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from '../protocol.ts'
import type { AgentConnectionState, AgentTransportClient, CommandHandler } from './types.ts'

export type SignalRTransportName = 'WebSockets' | 'ServerSentEvents' | 'LongPolling'

export interface SignalRAgentClientOptions {
  /** The server's base URL (`https://midtier:5000`) or the hub URL itself. */
  url: string
  apiKey: string
  /** Verify TLS certificates (default true). Off only works on Node. */
  tlsVerify?: boolean
  /** TLS options from lib/tls-trust.ts (a pinned CA); wins over tlsVerify. Node only. */
  tls?: TlsClientOptions
  /** Transports to try, in the client's order (default all three). */
  transports?: SignalRTransportName[]
  hubPath?: string
  /** First reconnect delay; later ones grow to `maxReconnectDelayMs`, with jitter. */
  reconnectDelayMs?: number
  maxReconnectDelayMs?: number
  /** Give up reconnecting after this many attempts (default: never). */
  maxReconnectAttempts?: number
  /** Try WebSockets without negotiate first (default true when WebSockets is allowed). */
  skipNegotiation?: boolean
  logLevel?: signalR.LogLevel
}

const TRANSPORT_FLAGS: Record<SignalRTransportName, signalR.HttpTransportType> = {
  WebSockets: signalR.HttpTransportType.WebSockets,
  ServerSentEvents: signalR.HttpTransportType.ServerSentEvents,
  LongPolling: signalR.HttpTransportType.LongPolling,
}

function hubUrl(url: string, hubPath: string): string {
  const trimmed = url.replace(/\/+$/, '')
  return new URL(trimmed).pathname.endsWith(hubPath) ? trimmed : trimmed + hubPath
}

export function createSignalRAgentClient(options: SignalRAgentClientOptions): AgentTransportClient {
  const transports = options.transports ?? ['WebSockets', 'ServerSentEvents', 'LongPolling']
  const stateListeners = new Set<(state: AgentConnectionState, error?: Error) => void>()
  let state: AgentConnectionState = 'disconnected'
  let connection: signalR.HubConnection | undefined
  let info: () => AgentInfo | Promise<AgentInfo>
  let agentId = ''
  let closing = false

  const setState = (next: AgentConnectionState, error?: Error) => {
    state = next
    for (const listener of stateListeners) listener(next, error)
  }

  const invoke = async (method: string, arg: unknown) => {
    if (!connection || connection.state !== signalR.HubConnectionState.Connected) {
      throw new Error(`Not connected to ${options.url}; ${method} was not sent.`)
    }
    await connection.invoke(method, arg)
  }

  const runner = createCommandRunner({
    agentId: () => agentId,
    sendResult: (result) => invoke('SendCommandResult', result),
  })

  const register = async () => {
    const current = await info()
    agentId = current.agentId
    await connection!.invoke('RegisterAgent', current)
  }

  const open = async (direct: boolean) => {
    const runtimeOptions = (await loadSignalRClientOptions(options.tls ?? { rejectUnauthorized: options.tlsVerify !== false }))?.connectionOptions ?? {}
    const builder = new signalR.HubConnectionBuilder()
      .withUrl(hubUrl(options.url, options.hubPath ?? '/agenthub'), {
        accessTokenFactory: () => options.apiKey,
        ...(direct
          ? { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets }
          : { transport: transports.reduce((flags, name) => flags | TRANSPORT_FLAGS[name], 0 as signalR.HttpTransportType) }),
        ...runtimeOptions,
      })
      .withAutomaticReconnect({
        nextRetryDelayInMilliseconds: ({ previousRetryCount }) =>
          options.maxReconnectAttempts !== undefined && previousRetryCount >= options.maxReconnectAttempts
            ? null
            : jitteredDelay(previousRetryCount, options.reconnectDelayMs ?? 1000, options.maxReconnectDelayMs ?? 30_000),
      })
      .configureLogging(options.logLevel ?? signalR.LogLevel.None)
    const current = builder.build()
    connection = current
    current.on('ExecuteCommand', (command) => void runner.run(command))
    current.on('Ping', () => {})
    current.onreconnecting((error) => setState('reconnecting', error))
    current.onreconnected(async () => {
      try {
        await register()
        setState('connected')
      } catch (error) {
        // A reconnect that cannot register is no session; restart the cycle.
        await current.stop()
        setState('disconnected', error as Error)
      }
    })
    current.onclose((error) => {
      if (!closing && connection === current) setState('disconnected', error)
    })
    try {
      await current.start()
      await register()
    } catch (error) {
      await current.stop().catch(() => {})
      // A failed direct attempt is not a disconnect yet: connect() goes on to negotiate.
      if (!direct) setState('disconnected', error as Error)
      throw error
    }
    setState('connected')
  }

  return {
    transport: 'signalr',
    get state() {
      return state
    },
    async connect(agentInfo) {
      info = typeof agentInfo === 'function' ? agentInfo : () => agentInfo
      closing = false
      setState('connecting')
      // WebSockets straight away, without negotiate: one request and one TCP connection per connect
      // instead of two, which is what a fleet reconnecting at once costs a mid-tier. If that fails
      // (a proxy that blocks WebSockets, a refused key), the client's full negotiate walks every transport.
      if (transports.includes('WebSockets') && options.skipNegotiation !== false) {
        try {
          await open(true)
          return
        } catch {
          if (closing) throw new Error('The connection was closed while it was being opened.')
        }
      }
      await open(false)
    },
    sendMetrics: (metrics: MetricsData) => invoke('SendMetrics', metrics),
    sendCommandResult: (result: CommandResult) => invoke('SendCommandResult', result),
    sendStatusUpdate: (update: StackServiceStatusUpdate) => invoke('StackServiceStatusUpdate', update),
    sendEvents: (events: AgentEvent[]) => invoke('SendEvents', events),
    onCommand(handler: CommandHandler) {
      runner.setHandler(handler)
      return () => runner.setHandler(undefined)
    },
    onStateChange(listener) {
      stateListeners.add(listener)
      return () => void stateListeners.delete(listener)
    },
    async close() {
      closing = true
      await connection?.stop()
      setState('disconnected')
    },
  }
}
