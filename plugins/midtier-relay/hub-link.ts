// The mid-tier's SignalR session with its hub's `/midtierhub` (official client, mid key): connects
// in the background, retries with jittered backoff forever, and announces itself on every connect.
// Given several hubs of one fleet it holds one session at a time: it prefers one hub (picked from its
// mid-tier id, so mid-tiers with the same list spread over the hubs), moves on to the next when that
// one cannot be reached, and goes back to the preferred hub once it answers again.
import * as signalR from '@microsoft/signalr'
import { createHash } from 'node:crypto'
import { jitteredDelay } from '../../lib/agent-session/agent/retry.ts'
import type { Logger } from '../../core/index.ts'
import { describeTlsError } from '../../lib/tls-trust.ts'
import { midtierFixes, type HubHttp } from './hub-http.ts'

/** One hub the mid-tier may connect to, with the HTTP(S) client that trusts it. */
export interface HubTarget {
  url: string
  http: HubHttp
}

export interface HubLinkOptions {
  /** The hubs of the fleet, in the user's order (one is the usual case). */
  hubs: HubTarget[]
  apiKey: string
  midtierId: string
  /** `spread` (default): prefer the hub picked from the mid-tier id; `first`: prefer the first hub, the others are standbys. */
  preference?: 'spread' | 'first'
  /** How long the link stays on another hub before it checks the preferred one again (default 60 s). */
  failbackDelayMs?: number
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
  /** The hub connected to, or being connected to; the preferred one before the first attempt. */
  readonly hub: HubTarget
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T>
  /** Sends without waiting for an answer (client streams: a Subject among the arguments). */
  send(method: string, ...args: unknown[]): Promise<void>
  start(): void
  stop(): Promise<void>
}

const hubEndpoint = (url: string) => {
  const trimmed = url.replace(/\/+$/, '')
  return new URL(trimmed).pathname.endsWith('/midtierhub') ? trimmed : `${trimmed}/midtierhub`
}

/** Where a mid-tier's search starts: the same hub for the same id, different hubs across ids. */
export function preferredHubIndex(midtierId: string, count: number, preference: 'spread' | 'first' = 'spread'): number {
  if (preference === 'first' || count <= 1) return 0
  return createHash('sha256').update(midtierId).digest().readUInt32BE(0) % count
}

export function createHubLink(options: HubLinkOptions): HubLink {
  const { logger, hubs } = options
  if (hubs.length === 0) throw new Error('createHubLink needs at least one hub')
  const base = options.reconnectDelayMs ?? 1000
  const max = options.maxReconnectDelayMs ?? 30_000
  const failbackDelayMs = options.failbackDelayMs ?? 60_000
  const preferred = preferredHubIndex(options.midtierId, hubs.length, options.preference)
  // With one hub the client reconnects by itself; with several, a lost hub means trying the next one.
  const several = hubs.length > 1
  let current = preferred
  let failbackTimer: ReturnType<typeof setTimeout> | undefined
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
    const url = hubs[current]!.url
    return describeTlsError(error, url, undefined, midtierFixes(url)) ?? (error as Error)?.message ?? String(error)
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
    logger.info(`Connected to the hub at ${hubs[current]!.url} as ${answer?.midtierId ?? options.midtierId}.`)
    // Relaying starts only once the hub knows this mid-tier's agents again.
    await options.onReady()
    if (conn === connection && !closed) ready = true
    if (ready && current !== preferred) scheduleFailback(conn)
  }

  /** On a hub other than the preferred one: check the preferred one now and then, and go back once it answers. */
  const scheduleFailback = (conn: signalR.HubConnection) => {
    if (failbackTimer) clearTimeout(failbackTimer)
    failbackTimer = setTimeout(async () => {
      failbackTimer = undefined
      if (closed || conn !== connection || current === preferred) return
      const target = hubs[preferred]!
      let healthy = false
      try {
        healthy = (await target.http.client.get(`${target.url.replace(/\/+$/, '')}/health`, { timeout: 10_000 })).statusCode === 200
      } catch {
        healthy = false
      }
      if (closed || conn !== connection) return
      if (!healthy) return scheduleFailback(conn)
      logger.info(`The preferred hub at ${target.url} answers again; moving back to it from ${hubs[current]!.url}.`)
      connection = undefined
      down()
      await conn.stop().catch(() => {})
      // Let the hub left behind settle that this mid-tier went before the preferred one hears of its agents.
      await sleep(1000)
      current = preferred
      if (!closed) void loop()
    }, failbackDelayMs)
    ;(failbackTimer as { unref?: () => void }).unref?.()
  }

  const build = (connectionOptions: Partial<signalR.IHttpConnectionOptions>) => {
    const builder = new signalR.HubConnectionBuilder().withUrl(hubEndpoint(hubs[current]!.url), { accessTokenFactory: () => options.apiKey, ...connectionOptions })
    if (!several) builder.withAutomaticReconnect({ nextRetryDelayInMilliseconds: ({ previousRetryCount }) => jitteredDelay(previousRetryCount, base, max) })
    const conn = builder.configureLogging(signalR.LogLevel.None).build()
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
        if (several) {
          const lost = hubs[current]!.url
          current = (current + 1) % hubs.length
          logger.warn(`Lost the hub at ${lost} (${error?.message ?? 'closed'}); moving on to the hub at ${hubs[current]!.url}, buffering metrics meanwhile.`)
        } else logger.warn(`The hub connection closed (${error?.message ?? 'no reason given'}); connecting again.`)
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
      // A round is one try at each hub; the backoff grows between rounds, not between hubs.
      let triedThisRound = 0
      while (!closed) {
        let conn: signalR.HubConnection | undefined
        try {
          conn = build(await hubs[current]!.http.connectionOptions())
          connection = conn
          await conn.start()
          await announce(conn)
          return
        } catch (error) {
          connection = undefined
          await conn?.stop().catch(() => {})
          down()
          const why = describe(error)
          const failed = hubs[current]!.url
          if (several && ++triedThisRound < hubs.length) {
            current = (current + 1) % hubs.length
            // Loud in the first round; after that the round's summary below says it.
            ;(failures === 0 ? logger.warn : logger.debug).call(logger, `Cannot reach the hub at ${failed}: ${why.replace(/\.$/, '')}; trying the hub at ${hubs[current]!.url}.`)
            continue
          }
          triedThisRound = 0
          // After a round of failures, start the next one at the preferred hub.
          current = preferred
          const delay = jitteredDelay(failures, base, max)
          const message = several
            ? `Cannot reach any of the ${hubs.length} hubs (last, ${failed}: ${why.replace(/\.$/, '')}); retrying in ${Math.round(delay / 100) / 10} s.`
            : `Cannot reach the hub at ${failed}: ${why.replace(/\.$/, '')}; retrying in ${Math.round(delay / 100) / 10} s.`
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
    get hub() {
      return hubs[current]!
    },
    invoke<T>(method: string, ...args: unknown[]) {
      if (!connection || connection.state !== signalR.HubConnectionState.Connected) {
        return Promise.reject(new Error(`Not connected to the hub; ${method} was not sent.`))
      }
      return connection.invoke<T>(method, ...args)
    },
    send(method: string, ...args: unknown[]) {
      if (!connection || connection.state !== signalR.HubConnectionState.Connected) {
        return Promise.reject(new Error(`Not connected to the hub; ${method} was not sent.`))
      }
      return connection.send(method, ...args)
    },
    start() {
      closed = false
      void loop()
    },
    async stop() {
      closed = true
      if (failbackTimer) clearTimeout(failbackTimer)
      wake?.()
      const conn = connection
      connection = undefined
      ready = false
      await conn?.stop().catch(() => {})
    },
  }
}
