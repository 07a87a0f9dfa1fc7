// The hub-fleet plugin: the hub's embedded mid-tier (live keys on the agent gateway), the
// `/midtierhub` for external mid-tiers (mid keys), and the `fleet` service the REST API drives.
import { defineFields, definePlugin } from '../../core/index.ts'
import { lazySecretBox, loadSecretKey } from '../../lib/secret-box.ts'
import type {} from '../agent-gateway/index.ts'
import '../../lib/storage/index.ts'
import { createFleet, type FleetService } from './fleet-service.ts'
import { createMetricsWriter } from './metrics-writer.ts'
import { mountDashboardHub } from './dashboard-hub.ts'
import { mountMidtierHub } from './midtier-hub.ts'
import { startLiveFanout } from './live-fanout.ts'
import { notificationsOf } from '../../lib/storage/notifications.ts'

export type { FleetService, ToolOutcome } from './fleet-service.ts'
export type { StackOutcome } from './stacks.ts'
export type { ContainerAction, Environment, NodeObjects, NodeToolResult } from './node-objects.ts'
export type { ExecRecord, LogQuery, LogRecord } from './streams.ts'
export type { NodeDetail, StackView } from './views.ts'
export type { DeployStackArguments } from './stack-payload.ts'
export type { FleetLiveEvent, LiveTarget } from './live-events.ts'
export type { NodeOfflineEvent, NodeRegisteredEvent, NodeRemovedEvent, StackDeployedEvent, StackDestroyedEvent, StackFailedEvent, StackOperation } from './fleet-events.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    fleet: FleetService
  }
}

export interface HubFleetOptions {
  /** Metrics samples per store write (default 500). */
  batchSize?: number
  /** Longest a sample waits before it is written, ms (default 1000). */
  flushMs?: number
  /** Metrics batches written at once (default 2). */
  writeConcurrency?: number
  /** Key validity sweep over open connections, ms (default 15 s; revoked keys are closed at once). */
  keySweepMs?: number
  /** Sweep for orphaned commands and expired sessions, ms (default 60 s). */
  maintenanceMs?: number
}

export const hubFleetFields = defineFields({
  offlineAfter: { type: 'duration', description: 'a node that reported nothing for this long is offline (3 metric intervals)', default: 90_000, min: 100 },
  staleAfter: { type: 'duration', description: 'an offline node not seen for this long is removed', default: 24 * 3600_000, min: 1000 },
  commandTimeout: { type: 'duration', description: 'how long the hub waits for a node to answer a command', default: 300_000, min: 100 },
  registrationRate: { type: 'number', description: 'new nodes one agent key may register per second (re-registrations are free)', default: 5, min: 0.001 },
  registrationBurst: { type: 'number', description: 'new nodes one agent key may register at once before registrationRate applies', default: 100, min: 1 },
  execIdleTimeout: { type: 'duration', description: 'an exec session (shell or command in a container) with no input or output for this long is closed', default: 15 * 60_000, min: 1000 },
  hubLeaseTtl: { type: 'duration', description: 'several hubs on one PostgreSQL: a hub silent this long is dead, and the nodes it held show reconnecting', default: 15_000, min: 1000 },
  maxNodesPerAccount: { type: 'number', description: 'nodes one account may have; registering more is refused until some are removed', default: 10_000, min: 1 },
  stackSecretsKey: {
    type: 'string',
    description: 'AES-256 key for stack secrets at rest (64 hex digits or base64; default: the key file stack-secrets.key in THRESH_HOME, made on first use)',
    secret: true,
    pattern: /^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/,
    expected: '32 bytes as 64 hex digits or base64',
  },
})

export default definePlugin((options: HubFleetOptions = {}) => ({
  name: 'hub-fleet',
  requires: ['storage', 'auth', 'audit', 'signalr', 'agent-gateway'],
  provides: ['fleet'],
  config: hubFleetFields,
  async setup(ctx) {
    const { settings } = ctx
    const keySweepMs = options.keySweepMs ?? 15_000
    const store = ctx.use('storage')
    const auth = ctx.use('auth')
    const gateway = ctx.use('agent-gateway')
    gateway.setAuthenticator(async (token) => {
      const principal = await auth.authenticate(token, 'live')
      return { accountId: principal.accountId, keyId: principal.keyId!, scope: 'live' }
    })

    const ingested = ctx.metrics.counter('hub_metrics_samples_total', 'Metrics samples received from agents.')
    const writer = createMetricsWriter(
      store,
      { batchSize: options.batchSize ?? 500, flushMs: options.flushMs ?? 1000, maxBuffered: 200_000, concurrency: options.writeConcurrency ?? 2, onAdd: (n) => ingested.inc(n) },
      ctx.logger,
    )

    const offlineAfterMs = settings.offlineAfter
    const fleet = createFleet({
      store,
      auth,
      audit: ctx.use('audit'),
      gateway,
      writer,
      logger: ctx.logger,
      bus: ctx.bus,
      secretBox: lazySecretBox(() => loadSecretKey(ctx.dataDir, settings.stackSecretsKey)),
      options: {
        offlineAfterMs,
        staleAfterMs: settings.staleAfter,
        commandTimeoutMs: settings.commandTimeout,
        sweepMs: Math.max(100, Math.min(10_000, offlineAfterMs / 3)),
        keySweepMs,
        maintenanceMs: options.maintenanceMs ?? 60_000,
        execIdleMs: settings.execIdleTimeout,
        hubLeaseTtlMs: settings.hubLeaseTtl,
        registration: { ratePerSecond: settings.registrationRate, burst: settings.registrationBurst, maxNodesPerAccount: settings.maxNodesPerAccount },
      },
    })
    gateway.setAdmission(async (principal, info) => {
      await fleet.ingress.admit?.(principal.accountId, principal.keyId, info)
      // Until the store has the node, the gateway knows which key holds an id that just connected.
      if (!(await store.getNode(principal.accountId, info.agentId))) gateway.assertOwner(principal, info.agentId)
    })
    await fleet.start()
    fleet.attachMidtiers(mountMidtierHub(ctx.use('signalr'), auth, fleet.ingress))
    ctx.provide('fleet', fleet.service)
    const dashboards = mountDashboardHub(ctx.use('signalr'), auth)
    const offLive = ctx.bus.on('fleet:live', (event) => dashboards.publish(event))
    const liveFanout = await startLiveFanout({ bus: ctx.bus, notifications: notificationsOf(store), watchedAccounts: () => dashboards.watchedAccounts(), logger: ctx.logger })
    const sessionSweep = setInterval(() => void dashboards.sweep().catch((e) => ctx.logger.warn(`Checking dashboard sessions failed: ${(e as Error).message}`)), keySweepMs)
    ;(sessionSweep as { unref?: () => void }).unref?.()
    const offRevoked = ctx.bus.on('auth:key-revoked', ({ accountId, keyId, reason }) => {
      void fleet.closeKey(accountId, keyId, reason).catch((e) => ctx.logger.warn(`Closing connections of key ${keyId} failed: ${(e as Error).message}`))
    })

    const stats = () => fleet.service.stats()
    ctx.metrics.gauge('hub_nodes_online', 'Nodes whose agent reported within the offline window.', () => stats().nodesOnline)
    ctx.metrics.gauge('hub_nodes_total', 'Nodes known to the hub.', () => stats().nodesTotal)
    for (const status of ['deploying', 'running', 'partial', 'stopped', 'updating', 'error']) {
      ctx.metrics.gauge(`hub_stacks_${status}`, `Stacks whose status is ${status}.`, () => stats().stacksByStatus[status] ?? 0)
    }
    ctx.metrics.gauge('hub_commands_in_flight', 'Commands sent to agents and not yet answered.', () => stats().commandsInFlight)
    ctx.metrics.gauge('hub_metrics_ingest_rate', 'Metrics samples received per second, over the last 10 s.', () => writer.rate())
    ctx.metrics.gauge('hub_metrics_write_dropped', 'Metrics samples dropped because the store could not take them.', () => writer.dropped)
    ctx.metrics.gauge('hub_agents_connected', 'Agents connected straight to this hub (embedded mid-tier).', () => stats().agentsConnected)
    ctx.metrics.gauge('hub_stream_buffered_bytes', 'Bytes of log and exec output the hub holds for viewers (bounded per stream).', () => gateway.streams.bytes + fleet.midtierStreams().bytes)
    ctx.metrics.gauge('hub_stream_dropped_total', 'Log and exec output dropped because a viewer read too slowly.', () => gateway.streams.dropped + fleet.midtierStreams().dropped)
    ctx.metrics.gauge('hub_streams_open', 'Log and exec streams open through this hub.', () => gateway.streams.size + fleet.midtierStreams().size)
    ctx.metrics.gauge('hub_midtiers_connected', 'External mid-tiers connected to /midtierhub.', () => stats().midtiers)
    ctx.metrics.gauge('hub_dashboards_connected', 'Dashboards connected to /dashboardhub.', () => dashboards.hub.connectionCount)

    return async () => {
      offRevoked()
      offLive()
      await liveFanout.close()
      clearInterval(sessionSweep)
      await fleet.close()
    }
  },
}))
