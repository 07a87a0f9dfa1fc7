// Keeps the agent connected: picks the transport (auto: SignalR, then REST polling), registers on
// every (re)connect, reconnects after a jittered `reconnect-delay`, fails over to the fallback URL
// and back, buffers what it could not send, and runs each commandId at most once across connections.
import type { StreamHandler } from '../../lib/streams/index.ts'
import { createEventBus, type EventBus } from '../../core/index.ts'
import type { AgentEvent, AgentInfo, AgentTransportClient, AgentTransportName, CommandHandler, CommandOutcome, MetricsData, StackServiceStatusUpdate } from '../../lib/agent-session/agent/index.ts'
import { jitteredDelay } from '../../lib/agent-session/agent/retry.ts'
import { establishTrust, isTlsTrustError, type TlsClientOptions, type TrustFixes } from '../../lib/tls-trust.ts'
import { createOutbox } from './outbox.ts'

/** What an agent's user runs to fix a TLS failure. */
const agentFixes: TrustFixes = {
  server: 'the server',
  pin: (fingerprint) => `thresh agent config set hub-fingerprint ${fingerprint}`,
  advertise: (host) => `restart that server with --advertise ${host}`,
  renew: 'restart that server: it renews its certificate at start',
}

const onNode = !('Deno' in globalThis)

export type TransportSetting = 'auto' | 'signalr' | 'rest'
export type TargetName = 'primary' | 'fallback'
export type ConnectionState = 'not_configured' | 'connecting' | 'connected' | 'disconnected' | 'auth_error' | 'tls_error'

export interface Target {
  url: string
  apiKey: string
}

export interface ConnectionManagerOptions {
  agentId: string
  primary?: Target
  fallback?: Target
  transport: TransportSetting
  tlsVerify: boolean
  /** The fleet CA's fingerprint (`hub-fingerprint`): servers must chain to it. */
  hubFingerprint?: string
  autoFailover: boolean
  failbackDelayMs: number
  reconnectDelayMs: number
  /** Consecutive failed attempts on one server before auto-failover moves to the other (default 3). */
  failoverAfterAttempts?: number
  /** Samples kept while disconnected; the oldest go first (default 1000). */
  outboxLimit?: number
  /** Seconds a REST command poll waits on the server (default 30). */
  restWaitSeconds?: number
  info(): Promise<AgentInfo>
  handler: CommandHandler
  /** Serves the streams (logs, exec) the server opens. */
  streamHandler?: StreamHandler
  logger?: { info(...args: unknown[]): void; warn(...args: unknown[]): void }
}

export interface ConnectionStatus {
  state: ConnectionState
  /** Why the agent is not connected (the server's or the network's words). */
  reason: string | null
  agentId: string
  hubUrl: string | null
  target: TargetName
  transport: AgentTransportName | null
  configuredTransport: TransportSetting
  connectedSince: string | null
  lastReportAt: string | null
  reconnectCount: number
  failovers: number
  bufferedMetrics: number
  /** Batches of container events waiting for a connection. */
  bufferedEvents: number
  droppedMetrics: number
  commandsExecuted: number
  hasFallback: boolean
}

export interface AgentConnectedEvent {
  agentId: string
  /** The server it connected to (mid-tier or hub). */
  url: string
  target: TargetName
  transport: AgentTransportName
  /** False for the first connection since the agent started. */
  reconnect: boolean
}

export interface AgentDisconnectedEvent {
  agentId: string
  url: string
  target: TargetName
  /** The server's or the network's words, or that the agent is stopping or switching servers. */
  reason: string
  /** False when the agent is stopping. */
  reconnecting: boolean
}

export interface ConnectionEvents {
  'agent:connected': AgentConnectedEvent
  'agent:disconnected': AgentDisconnectedEvent
}

export interface ConnectionManager {
  /** A connection came up or, having been up, went down; failed attempts are not reported. */
  on: EventBus<ConnectionEvents>['on']
  start(): void
  stop(): Promise<void>
  status(): ConnectionStatus
  sendMetrics(metrics: MetricsData): void
  sendStatusUpdate(update: StackServiceStatusUpdate): void
  /** Container events: buffered with metrics' bound while disconnected, sent in order once connected. */
  sendEvents(events: AgentEvent[]): void
  /** Switches to the other server now (manual failover/failback). */
  switchTo(target: TargetName): void
}

/** The words of an error, with what a bare "fetch failed" wraps (connection refused, host not found). */
export function reasonOf(error: unknown): string {
  const message = (error as Error)?.message ?? String(error)
  const cause = (error as { cause?: { message?: string; code?: string } })?.cause
  return /^fetch failed$/i.test(message) && cause?.message ? cause.message : message
}

export function isAuthError(error: unknown): boolean {
  const e = error as { status?: number; statusCode?: number; message?: string }
  const status = e?.status ?? e?.statusCode
  if (status === 401 || status === 403) return true
  return /\b(401|403)\b|unauthori[sz]ed|forbidden/i.test(String(e?.message ?? ''))
}

export function createConnectionManager(options: ConnectionManagerOptions): ConnectionManager {
  const failoverAfter = options.failoverAfterAttempts ?? 3
  const metricsBox = createOutbox<MetricsData>(options.outboxLimit ?? 1000)
  const statusBox = createOutbox<StackServiceStatusUpdate>(options.outboxLimit ?? 1000)
  const eventsBox = createOutbox<AgentEvent[]>(options.outboxLimit ?? 1000)
  const outcomes = new Map<string, Promise<CommandOutcome>>()
  const targets: Record<TargetName, Target | undefined> = { primary: options.primary, fallback: options.fallback }
  const events = createEventBus<ConnectionEvents>()

  let state: ConnectionState = options.primary ? 'disconnected' : 'not_configured'
  let reason: string | null = options.primary ? null : 'No midtier-url is configured (thresh agent config set midtier-url URL).'
  let target: TargetName = 'primary'
  let client: AgentTransportClient | undefined
  let connectedSince: number | null = null
  let lastReportAt: number | null = null
  let reconnectCount = 0
  let failovers = 0
  let commandsExecuted = 0
  let stopped = true
  let loop: Promise<void> | undefined
  let wanted: TargetName | undefined
  let handover: { target: TargetName; client: AgentTransportClient } | undefined
  let wake: (() => void) | undefined
  let failbackTimer: ReturnType<typeof setTimeout> | undefined

  // Shared by every connection: a command redelivered after a reconnect gets the first run's outcome.
  const handler: CommandHandler = (command) => {
    let outcome = outcomes.get(command.commandId)
    if (!outcome) {
      commandsExecuted++
      outcome = Promise.resolve().then(() => options.handler(command))
      outcomes.set(command.commandId, outcome)
      if (outcomes.size > 1000) outcomes.delete(outcomes.keys().next().value as string)
    }
    return outcome
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        wake = undefined
        resolve()
      }
      wake = done
    })
  const interrupt = () => wake?.()

  // Node: the server is checked (and the pinned CA found in its chain) before any transport is tried,
  // so a TLS failure is reported once, with its cause. Deno: the runtime's own checks (system CAs, DENO_CERT).
  const trustFor = async (to: Target): Promise<TlsClientOptions> =>
    onNode
      ? establishTrust(to.url, { verify: options.tlsVerify, ...(options.hubFingerprint ? { fingerprint: options.hubFingerprint } : {}) }, agentFixes)
      : { rejectUnauthorized: options.tlsVerify }
  const fetchFor = async (tls: TlsClientOptions): Promise<typeof fetch> =>
    onNode && (tls.ca || !tls.rejectUnauthorized) ? (await import('../../lib/tls-fetch.ts')).tlsFetch(tls) : fetch

  const createClient = async (kind: AgentTransportName, to: Target, tls: TlsClientOptions): Promise<AgentTransportClient> => {
    const delay = options.reconnectDelayMs
    // Each client is loaded when first tried (not from the agent barrel, which holds both): an agent
    // on SignalR never loads the REST client, one on REST never loads SignalR's.
    if (kind === 'signalr') {
      const { createSignalRAgentClient } = await import('../../lib/agent-session/agent/signalr-agent-client.ts')
      // Reconnects are ours (jitter, failover), so the SignalR client gives up on the first loss.
      return createSignalRAgentClient({ url: to.url, apiKey: to.apiKey, tls, reconnectDelayMs: delay, maxReconnectDelayMs: delay, maxReconnectAttempts: 0 })
    }
    const { createRestPollAgentClient } = await import('../../lib/agent-session/agent/rest-poll-agent-client.ts')
    const fetchImpl = await fetchFor(tls)
    return createRestPollAgentClient({
      url: to.url,
      apiKey: to.apiKey,
      agentId: options.agentId,
      waitSeconds: options.restWaitSeconds ?? 30,
      reconnectDelayMs: delay,
      maxReconnectDelayMs: delay,
      fetch: fetchImpl,
    })
  }

  // The SignalR client reports a refused negotiate as a bare status code; the server's JSON body says why.
  const explainRefusal = async (to: Target, error: unknown): Promise<string> => {
    const fallback = `The server refused the agent key: ${(error as Error)?.message ?? error}`
    try {
      const doFetch = await fetchFor(await trustFor(to))
      const response = await doFetch(`${to.url.replace(/\/+$/, '')}/api/agent/register`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${to.apiKey}`, 'X-Agent-Id': options.agentId, 'Content-Type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(5000),
      })
      if (response.status !== 401 && response.status !== 403) return fallback
      const body = (await response.json().catch(() => ({}))) as { message?: string }
      return `The server refused the agent key (${response.status}): ${body.message ?? response.statusText}`
    } catch {
      return fallback
    }
  }

  const attempt = async (to: Target): Promise<AgentTransportClient> => {
    const kinds: AgentTransportName[] = options.transport === 'auto' ? ['signalr', 'rest'] : [options.transport]
    let lastError: unknown
    const tls = await trustFor(to)
    for (const kind of kinds) {
      const next = await createClient(kind, to, tls)
      next.onCommand(handler)
      next.onStream((open, work) => (options.streamHandler ? options.streamHandler(open, work) : Promise.reject(new Error('This agent does not serve streams.'))))
      try {
        await next.connect(() => options.info())
        return next
      } catch (error) {
        await next.close().catch(() => {})
        lastError = error
        if (isAuthError(error)) break
      }
    }
    throw lastError
  }

  const flush = async () => {
    const current = client
    if (!current || state !== 'connected') return
    await metricsBox.drain(async (metrics) => {
      await current.sendMetrics({ ...metrics, agentId: options.agentId })
      lastReportAt = Date.now()
    })
    await statusBox.drain((update) => current.sendStatusUpdate(update))
    await eventsBox.drain((events) => current.sendEvents(events))
  }

  const stopFailback = () => {
    if (failbackTimer) clearTimeout(failbackTimer)
    failbackTimer = undefined
  }

  // On the fallback: after failback-delay, try the primary until it answers, then hand over.
  const scheduleFailback = () => {
    stopFailback()
    const primary = targets.primary
    if (!primary) return
    const probe = async () => {
      failbackTimer = undefined
      if (stopped || target !== 'fallback' || state !== 'connected') return
      try {
        const next = await attempt(primary)
        if (stopped || target !== 'fallback') {
          await next.close().catch(() => {})
          return
        }
        options.logger?.info(`The primary ${primary.url} answers again: failing back.`)
        handover = { target: 'primary', client: next }
        wanted = 'primary'
        interrupt()
      } catch {
        if (!stopped && target === 'fallback') failbackTimer = setTimeout(probe, jitteredDelay(0, options.reconnectDelayMs, options.reconnectDelayMs))
      }
    }
    failbackTimer = setTimeout(probe, options.failbackDelayMs)
  }

  const waitUntilDown = (current: AgentTransportClient) =>
    new Promise<void>((resolve) => {
      const off = current.onStateChange((next, error) => {
        if (next === 'connected' || next === 'connecting') return
        reason = error?.message ?? `The connection to ${targets[target]?.url} was lost.`
        done()
      })
      function done() {
        off()
        wake = undefined
        resolve()
      }
      wake = done
      if (current.state !== 'connected') done()
    })

  const run = async () => {
    let failures = 0
    let everConnected = false
    while (!stopped) {
      if (wanted) {
        if (wanted !== target) failures = 0
        target = wanted
        wanted = undefined
      }
      const to = targets[target]!
      let current: AgentTransportClient
      if (handover && handover.target === target) {
        current = handover.client
        handover = undefined
      } else {
        // A retry keeps showing why the last try failed (TLS, a refused key), not a bare "connecting".
        if (failures === 0) state = 'connecting'
        try {
          current = await attempt(to)
        } catch (error) {
          failures++
          const auth = isAuthError(error)
          // The reason first: status readers must never see the new state with the old reason.
          reason = auth ? await explainRefusal(to, error) : reasonOf(error)
          state = auth ? 'auth_error' : isTlsTrustError(error) ? 'tls_error' : 'disconnected'
          options.logger?.warn(`Cannot connect to ${to.url}: ${reason}`)
          if (stopped) break
          if (options.autoFailover && !auth && failures >= failoverAfter && targets.fallback && !wanted) {
            wanted = target === 'primary' ? 'fallback' : 'primary'
            if (wanted === 'fallback') failovers++
            options.logger?.warn(`${to.url} is unreachable after ${failures} attempts: switching to ${targets[wanted]!.url}.`)
            continue
          }
          // A refused key will not fix itself quickly: back off (up to a minute) instead of hammering.
          const delay = auth ? jitteredDelay(failures - 1, options.reconnectDelayMs, Math.max(60_000, options.reconnectDelayMs)) : jitteredDelay(0, options.reconnectDelayMs, options.reconnectDelayMs)
          if (!wanted) await sleep(delay)
          continue
        }
      }
      if (stopped || (wanted && wanted !== target)) {
        // Stopped, or a switch was asked for while this connection was being made.
        await current.close().catch(() => {})
        if (stopped) break
        continue
      }
      client = current
      failures = 0
      if (everConnected) reconnectCount++
      everConnected = true
      connectedSince = Date.now()
      state = 'connected'
      reason = null
      options.logger?.info(`Connected to ${to.url} over ${current.transport}${target === 'fallback' ? ' (fallback)' : ''}.`)
      events.emit('agent:connected', { agentId: options.agentId, url: to.url, target, transport: current.transport, reconnect: reconnectCount > 0 })
      void flush()
      if (target === 'fallback' && options.autoFailover) scheduleFailback()
      await waitUntilDown(current)
      stopFailback()
      client = undefined
      connectedSince = null
      await current.close().catch(() => {})
      if (!stopped) state = 'disconnected'
      const why = stopped ? 'The agent is stopping.' : wanted ? `Switching to the ${wanted} server.` : (reason ?? `The connection to ${to.url} was lost.`)
      events.emit('agent:disconnected', { agentId: options.agentId, url: to.url, target, reason: why, reconnecting: !stopped })
      if (stopped) break
      if (wanted) continue
      options.logger?.warn(`Disconnected from ${to.url}: ${reason} Reconnecting.`)
      await sleep(jitteredDelay(0, options.reconnectDelayMs, options.reconnectDelayMs))
    }
  }

  return {
    on: events.on,
    start() {
      if (!options.primary || !stopped) return
      stopped = false
      loop = run()
    },
    async stop() {
      stopped = true
      stopFailback()
      interrupt()
      await loop?.catch(() => {})
      await client?.close().catch(() => {})
      await handover?.client.close().catch(() => {})
      client = undefined
      if (state !== 'not_configured') state = 'disconnected'
    },
    status() {
      const url = targets[target]?.url ?? null
      return {
        state,
        reason,
        agentId: options.agentId,
        hubUrl: url,
        target,
        transport: state === 'connected' ? (client?.transport ?? null) : null,
        configuredTransport: options.transport,
        connectedSince: connectedSince ? new Date(connectedSince).toISOString() : null,
        lastReportAt: lastReportAt ? new Date(lastReportAt).toISOString() : null,
        reconnectCount,
        failovers,
        bufferedMetrics: metricsBox.size,
        bufferedEvents: eventsBox.size,
        droppedMetrics: metricsBox.dropped,
        commandsExecuted,
        hasFallback: Boolean(targets.fallback),
      }
    },
    sendMetrics(metrics) {
      metricsBox.push({ ...metrics, agentId: options.agentId })
      void flush()
    },
    sendStatusUpdate(update) {
      statusBox.push(update)
      void flush()
    },
    sendEvents(events) {
      if (events.length === 0) return
      eventsBox.push(events)
      void flush()
    },
    switchTo(next) {
      if (!targets[next]) throw new Error(next === 'fallback' ? 'No fallback-url is configured.' : 'No midtier-url is configured.')
      if (next === target && state === 'connected') return
      wanted = next
      if (next === 'fallback') failovers++
      stopFailback()
      interrupt()
    },
  }
}
