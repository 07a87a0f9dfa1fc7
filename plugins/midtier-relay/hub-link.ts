// The mid-tier's SignalR session with its hub's `/midtierhub` (official client, mid key): connects
// in the background, retries with jittered backoff forever, and announces itself on every connect.
import * as signalR from '@microsoft/signalr'
import { jitteredDelay } from '../../lib/agent-session/agent/retry.ts'
import type { Logger } from '../../core/index.ts'
import { describeTlsError } from '../../lib/tls-trust.ts'
import { midtierFixes, type HubHttp } from './hub-http.ts'

export interface HubLinkOptions {
  hubUrl: string
  apiKey: string
  http: HubHttp
  midtierId: string
  /** When this mid-tier's serving certificate expires (ISO-8601), told to the hub so it can warn in time. */
  certificateExpiresAt?: () => string | undefined
  logger: Logger
  reconnectDelayMs?: number
  maxReconnectDelayMs?: number
  /** Hub -> mid-tier methods (`ExecuteCommand`, `DisconnectAgent`). */
  handlers: Record<string, (...args: any[]) => void>
  /** Runs after every (re)connect once the hub knows this mid-tier; the link counts as up after it. */
  onReady(): Promise<void>
  onDown?(): void
}

export interface HubLink {
  /** Connected, announced and `onReady` done: safe to relay. */
  readonly connected: boolean
  /** Connected at all (during `onReady` too). */
  readonly open: boolean
  /** The account the mid key belongs to, once the hub said so. */
  readonly accountId: string | undefined
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T>
  start(): void
  stop(): Promise<void>
}

const hubEndpoint = (url: string) => {
  const trimmed = url.replace(/\/+$/, '')
  return new URL(trimmed).pathname.endsWith('/midtierhub') ? trimmed : `${trimmed}/midtierhub`
}

export function createHubLink(options: HubLinkOptions): HubLink {
  const { logger } = options
  const base = options.reconnectDelayMs ?? 1000
  const max = options.maxReconnectDelayMs ?? 30_000
  let connection: signalR.HubConnection | undefined
  let ready = false
  let closed = false
  let accountId: string | undefined
  let wake: (() => void) | undefined
  let looping = false
  let failures = 0

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })

  const describe = (error: unknown) => {
    const status = (error as { statusCode?: number }).statusCode
    if (status === 401) return 'the hub refused the mid-tier key (401): it is unknown, revoked or expired'
    if (status === 403) return 'the hub refused the mid-tier key (403): it is not a mid-tier key'
    return describeTlsError(error, options.hubUrl, undefined, midtierFixes(options.hubUrl)) ?? (error as Error)?.message ?? String(error)
  }

  const down = () => {
    if (!ready) return
    ready = false
    options.onDown?.()
  }

  const announce = async (conn: signalR.HubConnection) => {
    const answer = await conn.invoke<{ midtierId?: string; accountId?: string }>('RegisterMidTier', {
      midtierId: options.midtierId,
      ...(options.certificateExpiresAt?.() ? { certificateExpiresAt: options.certificateExpiresAt() } : {}),
    })
    accountId = answer?.accountId ?? accountId
    if (conn !== connection || closed) return
    failures = 0
    logger.info(`Connected to the hub at ${options.hubUrl} as ${answer?.midtierId ?? options.midtierId}.`)
    // Relaying starts only once the hub knows this mid-tier's agents again.
    await options.onReady()
    if (conn === connection && !closed) ready = true
  }

  const build = (connectionOptions: Partial<signalR.IHttpConnectionOptions>) => {
    const conn = new signalR.HubConnectionBuilder()
      .withUrl(hubEndpoint(options.hubUrl), { accessTokenFactory: () => options.apiKey, ...connectionOptions })
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: ({ previousRetryCount }) => jitteredDelay(previousRetryCount, base, max) })
      .configureLogging(signalR.LogLevel.None)
      .build()
    for (const [method, handler] of Object.entries(options.handlers)) conn.on(method, handler)
    conn.onreconnecting((error) => {
      if (conn !== connection) return
      logger.warn(`Lost the hub connection (${error?.message ?? 'closed'}); reconnecting and buffering metrics meanwhile.`)
      down()
    })
    conn.onreconnected(() => {
      if (conn !== connection) return
      announce(conn).catch((error) => {
        logger.warn(`The hub did not accept this mid-tier after reconnecting: ${describe(error)}.`)
        void conn.stop()
      })
    })
    conn.onclose((error) => {
      if (conn !== connection) return
      down()
      connection = undefined
      if (!closed) {
        logger.warn(`The hub connection closed (${error?.message ?? 'no reason given'}); connecting again.`)
        void loop()
      }
    })
    return conn
  }

  const loop = async () => {
    if (looping) return
    looping = true
    try {
      let warned = ''
      while (!closed) {
        let conn: signalR.HubConnection | undefined
        try {
          conn = build(await options.http.connectionOptions())
          connection = conn
          await conn.start()
          await announce(conn)
          return
        } catch (error) {
          connection = undefined
          await conn?.stop().catch(() => {})
          down()
          const delay = jitteredDelay(failures, base, max)
          const why = describe(error)
          const message = `Cannot reach the hub at ${options.hubUrl}: ${why.replace(/\.$/, '')}; retrying in ${Math.round(delay / 100) / 10} s.`
          // Each new reason is a warning (a TLS failure is not a blip); the same one again is debug.
          if (why !== warned || (error as { statusCode?: number }).statusCode === 401) logger.warn(message)
          else logger.debug(message)
          warned = why
          failures++
          if (!closed) await sleep(delay)
        }
      }
    } finally {
      looping = false
    }
  }

  return {
    get connected() {
      return ready && connection?.state === signalR.HubConnectionState.Connected
    },
    get open() {
      return connection?.state === signalR.HubConnectionState.Connected
    },
    get accountId() {
      return accountId
    },
    invoke<T>(method: string, ...args: unknown[]) {
      if (!connection || connection.state !== signalR.HubConnectionState.Connected) {
        return Promise.reject(new Error(`Not connected to the hub; ${method} was not sent.`))
      }
      return connection.invoke<T>(method, ...args)
    },
    start() {
      closed = false
      void loop()
    },
    async stop() {
      closed = true
      wake?.()
      const conn = connection
      connection = undefined
      ready = false
      await conn?.stop().catch(() => {})
    },
  }
}
