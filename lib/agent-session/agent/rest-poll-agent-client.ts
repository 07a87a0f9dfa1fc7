// The agent's REST polling session (CONTRACT §4): register, metrics, long-polled commands and
// results over plain fetch, re-registering after every outage.
import { createCommandRunner } from './command-runner.ts'
import { jitteredDelay } from './retry.ts'
import type { AgentCommand, AgentEvent, AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from '../protocol.ts'
import type { AgentConnectionState, AgentTransportClient, CommandHandler } from './types.ts'

export interface RestPollAgentClientOptions {
  /** The server's base URL. */
  url: string
  apiKey: string
  agentId: string
  /** Seconds each command poll waits on the server (default 30). */
  waitSeconds?: number
  reconnectDelayMs?: number
  maxReconnectDelayMs?: number
  /** A fetch with thresh's TLS options (a pinned CA, or `tls-verify` off): lib/tls-fetch.ts. */
  fetch?: typeof fetch
}

/** A failed REST call, with the server's `{error, message}` when it sent one. */
export class AgentRequestError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'AgentRequestError'
    this.status = status
    this.code = code
  }
}

export function createRestPollAgentClient(options: RestPollAgentClientOptions): AgentTransportClient {
  const base = options.url.replace(/\/+$/, '')
  const doFetch = options.fetch ?? fetch
  const stateListeners = new Set<(state: AgentConnectionState, error?: Error) => void>()
  let state: AgentConnectionState = 'disconnected'
  let info: () => AgentInfo | Promise<AgentInfo>
  let stopped = true
  let controller = new AbortController()
  let loop: Promise<void> | undefined

  const setState = (next: AgentConnectionState, error?: Error) => {
    if (next === state && !error) return
    state = next
    for (const listener of stateListeners) listener(next, error)
  }

  const call = async (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> => {
    const response = await doFetch(base + path, {
      method,
      headers: {
        Authorization: `Bearer ${options.apiKey}`,
        'X-Agent-Id': options.agentId,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    })
    const text = await response.text()
    if (!response.ok) {
      let code = `http_${response.status}`
      let message = `${method} ${path} failed with status ${response.status}.`
      try {
        const parsed = JSON.parse(text) as { error?: string; message?: string }
        code = parsed.error ?? code
        message = parsed.message ?? message
      } catch {
        // not JSON: keep the generic sentence
      }
      throw new AgentRequestError(response.status, code, message)
    }
    return text ? JSON.parse(text) : undefined
  }

  const runner = createCommandRunner({
    agentId: () => options.agentId,
    sendResult: async (result) => {
      await call('POST', `/api/agent/commands/${encodeURIComponent(result.commandId)}/result`, result)
    },
  })

  const register = async () => {
    const current = await info()
    await call('POST', '/api/agent/register', { ...current, agentId: options.agentId })
  }

  const pollLoop = async () => {
    let failures = 0
    while (!stopped) {
      try {
        if (state !== 'connected') {
          await register()
          setState('connected')
        }
        const reply = (await call('GET', `/api/agent/commands?wait=${options.waitSeconds ?? 30}`, undefined, controller.signal)) as
          | { commands?: AgentCommand[] }
          | undefined
        failures = 0
        for (const command of reply?.commands ?? []) void runner.run(command)
      } catch (error) {
        if (stopped) return
        const status = (error as AgentRequestError).status
        if (status === 401 || status === 403) {
          stopped = true
          setState('disconnected', error as Error)
          return
        }
        setState('reconnecting', error as Error)
        const delay = jitteredDelay(failures++, options.reconnectDelayMs ?? 1000, options.maxReconnectDelayMs ?? 30_000)
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  return {
    transport: 'rest',
    get state() {
      return state
    },
    async connect(agentInfo) {
      info = typeof agentInfo === 'function' ? agentInfo : () => agentInfo
      setState('connecting')
      try {
        await register()
      } catch (error) {
        setState('disconnected', error as Error)
        throw error
      }
      setState('connected')
      stopped = false
      controller = new AbortController()
      loop = pollLoop()
    },
    async sendMetrics(metrics: MetricsData) {
      await call('POST', '/api/agent/metrics', { ...metrics, agentId: options.agentId })
    },
    async sendCommandResult(result: CommandResult) {
      await call('POST', `/api/agent/commands/${encodeURIComponent(result.commandId)}/result`, result)
    },
    async sendStatusUpdate(update: StackServiceStatusUpdate) {
      await call('POST', '/api/agent/status', update)
    },
    async sendEvents(events: AgentEvent[]) {
      await call('POST', '/api/agent/events', { events })
    },
    onCommand(handler: CommandHandler) {
      runner.setHandler(handler)
      return () => runner.setHandler(undefined)
    },
    onStateChange(listener) {
      stateListeners.add(listener)
      return () => void stateListeners.delete(listener)
    },
    async close() {
      stopped = true
      controller.abort()
      await loop?.catch(() => {})
      setState('disconnected')
    },
  }
}
