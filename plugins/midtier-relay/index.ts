// The midtier-relay plugin: what agents send the mid-tier's agent gateway, relayed to the hub's
// `/midtierhub` with a mid key, and agent keys checked with that hub (CONTRACT §5).
import { randomUUID } from 'node:crypto'
import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineFields, definePlugin, ThreshError } from '../../core/index.ts'
import { readSecretFile } from '../../lib/secret-file.ts'
import { fingerprintField } from '../../lib/tls.ts'
import type {} from '../agent-gateway/index.ts'
import { createMidtierCertificate } from './certificate.ts'
import { createHubHttp } from './hub-http.ts'
import { openJournal } from './journal.ts'
import { createKeyValidator } from './key-validator.ts'
import { createOutbox } from './outbox.ts'
import { createRelay, type Relay } from './relay.ts'
import { preferredHubIndex } from './hub-link.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    'midtier-relay': Relay
  }
}

export interface MidtierRelayOptions {
  /** First hub reconnect delay in ms (later ones grow, jittered, to `maxReconnectDelayMs`). */
  reconnectDelayMs?: number
  maxReconnectDelayMs?: number
}

export const midtierRelayFields = defineFields({
  hubUrl: {
    type: 'list',
    description: 'the hub to connect to, or several hubs of one fleet (comma-separated or repeated): one at a time, moving on when one is down',
    pattern: /^https?:\/\/[^\s/,]+(\/[^\s,]*)?$/,
    expected: 'one or more http:// or https:// URLs, comma-separated, such as https://hub1.example:7200,https://hub2.example:7200',
  },
  hubPreference: {
    type: 'string',
    description: 'which of several hubs the mid-tier prefers: spread (one picked from its mid-tier id, so mid-tiers with the same list spread over the hubs) or first (the first URL; the others are standbys)',
    oneOf: ['spread', 'first'],
    default: 'spread',
  },
  hubFailbackDelay: { type: 'duration', description: 'how long the mid-tier stays on another hub before it checks whether its preferred hub is back', default: 60_000, min: 100 },
  apiKeyFile: { type: 'string', description: 'a file holding the thresh_mid_ key for the hub (preferred: unlike --api-key, not visible in ps)' },
  apiKey: { type: 'string', description: 'the thresh_mid_ key for the hub; on the command line every local user sees it in ps, so prefer --api-key-file or THRESH_API_KEY', secret: true },
  advertise: { type: 'list', description: 'the host names and addresses agents reach this mid-tier at, put in the certificate the hub signs for it (this machine\'s own are always there)', default: [] },
  hubFingerprint: { ...fingerprintField, description: "the hub's fleet CA fingerprint (sha256:…, printed by the hub at start): the hub's certificate must chain to it" },
  tlsVerify: { type: 'boolean', description: 'verify the hub certificate (false: an escape hatch, never needed with --hub-fingerprint)', default: true },
  batchInterval: { type: 'duration', description: 'metrics flush interval', default: 5000, min: 10 },
  batchSize: { type: 'number', description: 'metrics flush size in samples', default: 1000, min: 1 },
  bufferSize: { type: 'number', description: 'most metric samples held while the hub is unreachable (oldest dropped first)', default: 100_000, min: 1 },
  keyCacheTtl: { type: 'duration', description: 'how long a hub answer about an agent key is trusted (at most 60 s)', default: 60_000, max: 60_000 },
  commandTimeout: { type: 'duration', description: 'a command for an agent offline this long gets an error result', default: 30_000, min: 10 },
  drainTimeout: { type: 'duration', description: 'longest wait on shutdown to send buffered metrics', default: 10_000 },
  midtierId: { type: 'string', description: 'the name this mid-tier gives the hub (default: a stable random id)', pattern: /^[A-Za-z0-9._-]{1,64}$/, expected: 'letters, digits, dot, dash and underscore, up to 64 characters' },
  journal: { type: 'boolean', description: 'keep what the hub has not received on disk, so a crash loses nothing', default: true },
})

const invalid = (message: string) => new ThreshError({ code: 'config_invalid', plugin: 'midtier-relay', message })

/** Refuses, with the reason, any hub URL or key the mid-tier cannot work with. */
export function checkMidtierConfig(hubUrl: unknown, apiKey: unknown): { hubUrls: string[]; apiKey: string } {
  const hubUrls = [...new Set((typeof hubUrl === 'string' ? [hubUrl] : Array.isArray(hubUrl) ? hubUrl : []).filter((u): u is string => typeof u === 'string' && u !== '').map((u) => u.replace(/\/+$/, '')))]
  if (hubUrls.length === 0) {
    throw invalid('The mid-tier needs its hub: pass --hub-url https://hub.example:7200, set THRESH_HUB_URL, or set hubUrl in the config.')
  }
  if (typeof apiKey !== 'string' || !apiKey) {
    throw invalid('The mid-tier needs a mid-tier key (thresh_mid_…): pass --api-key-file PATH, set THRESH_API_KEY, or set apiKeyFile in the config; create one on the hub with `thresh keys create --type midtier`.')
  }
  if (!/^thresh_mid_[A-Za-z0-9-]+_[A-Za-z0-9_-]+$/.test(apiKey)) {
    const kind = apiKey.startsWith('thresh_live_') ? 'an agent key (thresh_live_…)' : apiKey.startsWith('thresh_cli_') ? 'a CLI token (thresh_cli_…)' : 'not a thresh key'
    throw invalid(`The mid-tier refuses to start: its api-key is ${kind}, and only a mid-tier key (thresh_mid_…) may connect to the hub's /midtierhub.`)
  }
  return { hubUrls, apiKey }
}

/** The key given directly, or read from apiKeyFile; both at once is refused, since one would be ignored silently. */
function keyOf(apiKey: string | undefined, apiKeyFile: string | undefined): string | undefined {
  if (apiKeyFile === undefined) return apiKey
  if (apiKey) throw invalid('Give the mid-tier key once: --api-key-file (THRESH_API_KEY_FILE) or --api-key (THRESH_API_KEY), not both.')
  return readSecretFile(apiKeyFile, '--api-key-file', 'midtier-relay')
}

/** When the certificate in `path` (the first of its chain) expires; undefined without one. */
function certificateExpiry(path: string | undefined): string | undefined {
  if (!path) return undefined
  try {
    return new Date(new X509Certificate(readFileSync(path)).validTo).toISOString()
  } catch {
    return undefined
  }
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
  requires: ['agent-gateway'],
  provides: ['midtier-relay', 'serving-certificate'],
  config: midtierRelayFields,
  async setup(ctx) {
    const { settings } = ctx
    const { hubUrls, apiKey } = checkMidtierConfig(settings.hubUrl, keyOf(settings.apiKey, settings.apiKeyFile))
    const keyCacheTtlMs = settings.keyCacheTtl
    const midtierId = midtierIdFor(ctx.dataDir, settings.midtierId)
    const batchSize = Math.floor(settings.batchSize)

    // Each hub is checked against the pin on its own: a pin trusts every hub of the fleet (they share its CA).
    const hubs = hubUrls.map((url) => ({ url, http: createHubHttp(url, { verify: settings.tlsVerify, ...(settings.hubFingerprint ? { fingerprint: settings.hubFingerprint } : {}) }) }))
    // Agent keys and certificates are asked of the hub the link is on (the preferred one before it connects).
    let relay: Relay | undefined
    const currentHub = () => relay?.link.hub ?? hubs[preferredHubIndex(midtierId, hubs.length, settings.hubPreference as 'spread' | 'first')]!
    const validator = createKeyValidator({ hub: () => ({ url: currentHub().url, client: currentHub().http.client }), midKey: apiKey, ttlMs: keyCacheTtlMs })
    const gateway = ctx.use('agent-gateway')
    gateway.setAuthenticator(validator.authenticate)

    const journal = !settings.journal ? undefined : openJournal(join(ctx.dataDir, 'midtier', 'outbox.jsonl'))
    const dropped = ctx.metrics.counter('midtier_metrics_dropped_total', 'Metric samples dropped because the buffer was full while the hub was unreachable.')
    const { outbox, replayedAgents } = createOutbox({
      maxSamples: Math.floor(settings.bufferSize),
      ...(journal ? { journal } : {}),
      onDrop: (count) => dropped.inc(count),
      isConnected: (agentId) => gateway.isConnected(agentId),
    })
    if (outbox.size > 0) ctx.logger.info(`Resuming with ${outbox.samples} buffered samples and ${outbox.controls} other updates for the hub from before the restart.`)

    relay = createRelay({
      hubs,
      hubPreference: settings.hubPreference as 'spread' | 'first',
      failbackDelayMs: settings.hubFailbackDelay,
      apiKey,
      midtierId,
      // The certificate served: the user's, else the one the hub signed (tls/midtier.pem), else the stand-in.
      certificateExpiresAt: () =>
        certificateExpiry(ctx.config.tls.enabled ? (ctx.config.tls.cert ?? [join(ctx.dataDir, 'tls', 'midtier.pem'), join(ctx.dataDir, 'tls', 'cert.pem')].find((path) => existsSync(path))) : undefined),
      gateway,
      validator,
      outbox,
      replayedAgents,
      logger: ctx.logger,
      batchIntervalMs: settings.batchInterval,
      batchSize,
      commandTimeoutMs: settings.commandTimeout,
      keyCacheTtlMs,
      metrics: ctx.metrics,
      ...(options.reconnectDelayMs !== undefined ? { reconnectDelayMs: options.reconnectDelayMs } : {}),
      ...(options.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: options.maxReconnectDelayMs } : {}),
    })
    ctx.provide('midtier-relay', relay)
    const certificate = createMidtierCertificate({
      hub: currentHub,
      apiKey,
      dataDir: ctx.dataDir,
      advertise: settings.advertise,
      ...(settings.hubFingerprint ? { fingerprint: settings.hubFingerprint } : {}),
      logger: ctx.logger,
    })
    ctx.provide('serving-certificate', certificate)

    ctx.metrics.gauge('midtier_agents_connected', 'Agents connected to this mid-tier.', () => gateway.agents().length)
    ctx.metrics.gauge('midtier_hub_connected', 'Whether the mid-tier is connected to its hub (1) or not (0).', () => (relay.link.connected ? 1 : 0))
    ctx.metrics.gauge('midtier_metrics_buffered', 'Metric samples waiting to be sent to the hub.', () => outbox.samples)
    ctx.metrics.gauge('midtier_updates_buffered', 'Registrations, command results and status updates waiting for the hub.', () => outbox.controls)
    ctx.metrics.gauge('midtier_key_validations_total', 'Agent key lookups sent to the hub.', () => validator.lookups)

    const drainTimeoutMs = settings.drainTimeout
    ctx.hooks.hook('app:close', async () => {
      if (outbox.size === 0) return
      ctx.logger.info(`Draining ${outbox.size} buffered updates to the hub (at most ${Math.round(drainTimeoutMs / 1000)} s).`)
      const left = await relay.drain(drainTimeoutMs)
      if (left > 0) ctx.logger.warn(`${left} updates could not reach the hub before shutdown; they are kept on disk and sent after the next start.`)
    })

    relay.start()
    return async () => {
      certificate.close()
      await relay.close()
      journal?.close()
    }
  },
}))
