// The midtier-relay plugin: the mid-tier role's agent gateway (`/agenthub`, REST polling via
// transport-rest-poll) relayed to the hub's `/midtierhub` with a mid key (CONTRACT §5).
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { definePlugin, ThreshError } from '../../core/index.ts'
import { createAgentGateway, mountAgentHub, type AgentGateway } from '../../lib/agent-session/index.ts'
import { createHubHttp } from './hub-http.ts'
import { openJournal } from './journal.ts'
import { createKeyValidator } from './key-validator.ts'
import { createOutbox } from './outbox.ts'
import { createRelay, type Relay } from './relay.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    'agent-gateway': AgentGateway
    'midtier-relay': Relay
  }
}

export interface MidtierRelayOptions {
  /** First hub reconnect delay in ms (later ones grow, jittered, to `maxReconnectDelayMs`). */
  reconnectDelayMs?: number
  maxReconnectDelayMs?: number
  /** Gateway: a pushed command without a result is pushed again after this (ms). */
  redeliveryMs?: number
  /** Gateway: a polling agent silent this long counts as gone (ms). */
  pollingOfflineMs?: number
}

const MAX_KEY_CACHE_MS = 60_000

const num = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback)

const invalid = (message: string) => new ThreshError({ code: 'config_invalid', plugin: 'midtier-relay', message })

/** Refuses, with the reason, any hub URL or key the mid-tier cannot work with. */
export function checkMidtierConfig(hubUrl: unknown, apiKey: unknown): { hubUrl: string; apiKey: string } {
  if (typeof hubUrl !== 'string' || !hubUrl) {
    throw invalid('The mid-tier needs its hub: pass --hub-url https://hub.example:7200, set THRESH_HUB_URL, or set hubUrl in the config.')
  }
  if (typeof apiKey !== 'string' || !apiKey) {
    throw invalid('The mid-tier needs a mid-tier key (thresh_mid_…): pass --api-key, set THRESH_API_KEY, or set apiKey in the config; create one on the hub with `thresh keys create --type midtier`.')
  }
  if (!/^thresh_mid_[A-Za-z0-9-]+_[A-Za-z0-9_-]+$/.test(apiKey)) {
    const kind = apiKey.startsWith('thresh_live_') ? 'an agent key (thresh_live_…)' : apiKey.startsWith('thresh_cli_') ? 'a CLI token (thresh_cli_…)' : 'not a thresh key'
    throw invalid(`The mid-tier refuses to start: its api-key is ${kind}, and only a mid-tier key (thresh_mid_…) may connect to the hub's /midtierhub.`)
  }
  return { hubUrl, apiKey }
}

function midtierIdFor(dataDir: string, configured: unknown): string {
  if (typeof configured === 'string' && configured) return configured
  // Stable across restarts so the hub sees the same mid-tier come back.
  const file = join(dataDir, 'midtier', 'id')
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim()
    if (id) return id
  }
  const id = randomUUID().slice(0, 8)
  mkdirSync(join(dataDir, 'midtier'), { recursive: true })
  writeFileSync(file, id + '\n', { mode: 0o600 })
  return id
}

export default definePlugin((options: MidtierRelayOptions = {}) => ({
  name: 'midtier-relay',
  requires: ['signalr'],
  provides: ['agent-gateway', 'midtier-relay'],
  async setup(ctx) {
    const merged = { ...options, ...(ctx.options as MidtierRelayOptions) }
    const { config } = ctx
    const { hubUrl, apiKey } = checkMidtierConfig(config.hubUrl, config.apiKey)
    const keyCacheTtlMs = Math.min(MAX_KEY_CACHE_MS, num(config.keyCacheTtl, MAX_KEY_CACHE_MS))
    const batchSize = Math.max(1, Math.floor(num(config.batchSize, 1000)))

    const http = await createHubHttp(config.tlsVerify !== false)
    const validator = createKeyValidator({ hubUrl, midKey: apiKey, http: http.client, ttlMs: keyCacheTtlMs })
    const gateway = createAgentGateway({
      authenticate: validator.authenticate,
      ...(merged.redeliveryMs !== undefined ? { redeliveryMs: merged.redeliveryMs } : {}),
      ...(merged.pollingOfflineMs !== undefined ? { pollingOfflineMs: merged.pollingOfflineMs } : {}),
    })
    ctx.provide('agent-gateway', gateway)
    mountAgentHub(ctx.use('signalr'), gateway)

    const journal = config.journal === false ? undefined : openJournal(join(ctx.dataDir, 'midtier', 'outbox.jsonl'))
    const dropped = ctx.metrics.counter('midtier_metrics_dropped_total', 'Metric samples dropped because the buffer was full while the hub was unreachable.')
    const { outbox, replayedAgents } = createOutbox({
      maxSamples: Math.max(1, Math.floor(num(config.bufferSize, 100_000))),
      ...(journal ? { journal } : {}),
      onDrop: (count) => dropped.inc(count),
      isConnected: (agentId) => gateway.isConnected(agentId),
    })
    if (outbox.size > 0) ctx.logger.info(`Resuming with ${outbox.samples} buffered samples and ${outbox.controls} other updates for the hub from before the restart.`)

    const relay = createRelay({
      hubUrl,
      apiKey,
      http,
      midtierId: midtierIdFor(ctx.dataDir, config.midtierId),
      gateway,
      validator,
      outbox,
      replayedAgents,
      logger: ctx.logger,
      batchIntervalMs: Math.max(10, num(config.batchInterval, 5000)),
      batchSize,
      commandTimeoutMs: Math.max(10, num(config.commandTimeout, 30_000)),
      keyCacheTtlMs,
      metrics: ctx.metrics,
      ...(merged.reconnectDelayMs !== undefined ? { reconnectDelayMs: merged.reconnectDelayMs } : {}),
      ...(merged.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: merged.maxReconnectDelayMs } : {}),
    })
    ctx.provide('midtier-relay', relay)

    ctx.metrics.gauge('midtier_agents_connected', 'Agents connected to this mid-tier.', () => gateway.agents().length)
    ctx.metrics.gauge('midtier_hub_connected', 'Whether the mid-tier is connected to its hub (1) or not (0).', () => (relay.link.connected ? 1 : 0))
    ctx.metrics.gauge('midtier_metrics_buffered', 'Metric samples waiting to be sent to the hub.', () => outbox.samples)
    ctx.metrics.gauge('midtier_updates_buffered', 'Registrations, command results and status updates waiting for the hub.', () => outbox.controls)
    ctx.metrics.gauge('midtier_key_validations_total', 'Agent key lookups sent to the hub.', () => validator.lookups)

    const drainTimeoutMs = num(config.drainTimeout, 10_000)
    ctx.hooks.hook('app:close', async () => {
      if (outbox.size === 0) return
      ctx.logger.info(`Draining ${outbox.size} buffered updates to the hub (at most ${Math.round(drainTimeoutMs / 1000)} s).`)
      const left = await relay.drain(drainTimeoutMs)
      if (left > 0) ctx.logger.warn(`${left} updates could not reach the hub before shutdown; they are kept on disk and sent after the next start.`)
    })

    relay.start()
    return async () => {
      await relay.close()
      gateway.close()
      journal?.close()
    }
  },
}))
