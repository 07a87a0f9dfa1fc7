// The agent-connection plugin: the agent's session with its mid-tier or hub (CONTRACT §4, §7),
// provided as `agent-connection`; it sends what `metrics:collected` carries and runs commands through
// the handler another plugin (agent-commands) sets.
import os from 'node:os'
import { defineFields, definePlugin, version } from '../../core/index.ts'
import type { CommandHandler, StackServiceStatusUpdate } from '../../lib/agent-session/agent/index.ts'
import { createConnectionManager, type AgentConnectedEvent, type AgentDisconnectedEvent, type ConnectionStatus, type TargetName, type TransportSetting } from './connection-manager.ts'
import { fingerprintField } from '../../lib/tls.ts'
import { agentInfo, loadAgentId, type HostFacts } from './identity.ts'
import type {} from '../agent-events/index.ts'

export { createConnectionManager, isAuthError } from './connection-manager.ts'
export type { AgentConnectedEvent, AgentDisconnectedEvent, ConnectionManager, ConnectionManagerOptions, ConnectionState, ConnectionStatus, TargetName } from './connection-manager.ts'
export { createOutbox } from './outbox.ts'
export { loadAgentId } from './identity.ts'

export interface AgentConnectionService {
  readonly agentId: string
  /** The name this node reports, when `node-name` is set (else its hostname is used). */
  readonly nodeName: string | undefined
  /** The account the agent key names (`thresh_live_<account>_…`). */
  readonly account: string | undefined
  status(): ConnectionStatus
  setCommandHandler(handler: CommandHandler): void
  sendStatusUpdate(update: StackServiceStatusUpdate): void
  /** Manual failover (`fallback`) or failback (`primary`). */
  switchTo(target: TargetName): void
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    'agent-connection': AgentConnectionService
  }
  interface ThreshEvents {
    /** The agent's session with its mid-tier or hub came up (again). */
    'agent:connected': AgentConnectedEvent
    /** A session that was up went down; failed attempts to connect are not reported. */
    'agent:disconnected': AgentDisconnectedEvent
  }
}

export interface AgentConnectionOptions {
  failoverAfterAttempts?: number
  outboxLimit?: number
  restWaitSeconds?: number
}

const agentKey = { pattern: /^thresh_live_[a-z0-9]{1,32}_[A-Za-z0-9]{16,128}$/, expected: 'an agent key, thresh_live_<account>_<secret>', secret: true } as const

/** The agent's connection settings: the keys of `thresh agent config set` (CONTRACT §7). */
export const agentConnectionFields = defineFields({
  midtierUrl: { type: 'url', description: 'the mid-tier (or hub) the agent connects to' },
  fallbackUrl: { type: 'url', description: 'where to go when the primary is unreachable' },
  apiKey: { type: 'string', description: 'the agent key for midtier-url', ...agentKey },
  fallbackApiKey: { type: 'string', description: 'the agent key for fallback-url', ...agentKey },
  hubFingerprint: { ...fingerprintField, description: "the fleet CA's fingerprint (sha256:…) the hub prints at start: servers must chain to that CA" },
  tlsVerify: { type: 'boolean', description: 'verify server certificates (false: an escape hatch, never needed with hub-fingerprint)', default: true },
  transport: { type: 'string', description: 'auto tries SignalR then REST polling', default: 'auto', oneOf: ['auto', 'signalr', 'rest'] },
  autoFailover: { type: 'boolean', description: 'move to fallback-url when the primary is down', default: false },
  failbackDelay: { type: 'duration', description: 'wait before going back to the primary', default: 300_000 },
  reconnectDelay: { type: 'duration', description: 'wait between reconnect attempts', default: 5_000, min: 100 },
  nodeName: {
    type: 'string',
    description: 'the name this node reports (default: its hostname)',
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    expected: 'a host name: letters, digits, dot, dash and underscore, up to 63 characters',
  },
})

/** `thresh_live_<account>_<secret>` names its account; the node's stacks are labelled with it. */
export function accountOfKey(key: unknown): string | undefined {
  const match = typeof key === 'string' ? /^thresh_live_([a-z0-9][a-z0-9-]*)_/i.exec(key) : null
  return match ? match[1]!.toLowerCase() : undefined
}

export default definePlugin((options: AgentConnectionOptions = {}) => ({
  name: 'agent-connection',
  provides: ['agent-connection'],
  config: agentConnectionFields,
  setup(ctx) {
    const settings = ctx.settings
    const agentId = loadAgentId(ctx.dataDir)
    const apiKey = settings.apiKey ?? ''
    const primaryUrl = settings.midtierUrl
    const fallbackUrl = settings.fallbackUrl

    let commandHandler: CommandHandler = (command) => ({ success: false, error: `This agent has no handler for '${command.tool}'.` })
    let facts: HostFacts | undefined
    const hostFacts = async (): Promise<HostFacts> => {
      if (facts) return facts
      if (ctx.has('system-metrics')) {
        try {
          return (facts = await ctx.use('system-metrics').staticInfo())
        } catch (error) {
          ctx.logger.warn(`Cannot read host facts: ${(error as Error).message}`)
        }
      }
      return { cpuCores: os.cpus().length, ramTotalGb: Math.round(os.totalmem() / 1024 ** 3), diskTotalGb: 0, containerRuntime: 'docker' }
    }

    const manager = createConnectionManager({
      agentId,
      primary: primaryUrl ? { url: primaryUrl, apiKey } : undefined,
      fallback: fallbackUrl ? { url: fallbackUrl, apiKey: settings.fallbackApiKey ?? apiKey } : undefined,
      transport: settings.transport as TransportSetting,
      tlsVerify: settings.tlsVerify,
      ...(settings.hubFingerprint ? { hubFingerprint: settings.hubFingerprint } : {}),
      autoFailover: settings.autoFailover,
      failbackDelayMs: settings.failbackDelay,
      reconnectDelayMs: settings.reconnectDelay,
      failoverAfterAttempts: options.failoverAfterAttempts,
      outboxLimit: options.outboxLimit,
      restWaitSeconds: options.restWaitSeconds,
      info: async () => agentInfo(agentId, settings.nodeName, version, await hostFacts()),
      handler: (command) => commandHandler(command),
      logger: ctx.logger,
    })
    if (primaryUrl && !apiKey) ctx.logger.warn('No api-key is configured: the server will refuse this agent (thresh agent config set api-key thresh_live_...).')
    if (!primaryUrl) ctx.logger.info('No midtier-url is configured: the agent runs without a server.')

    ctx.provide('agent-connection', {
      agentId,
      nodeName: settings.nodeName,
      account: accountOfKey(apiKey),
      status: () => manager.status(),
      setCommandHandler(handler) {
        commandHandler = handler
      },
      sendStatusUpdate: (update) => manager.sendStatusUpdate(update),
      switchTo: (target) => manager.switchTo(target),
    })
    const offMetrics = ctx.bus.on('metrics:collected', (metrics) => manager.sendMetrics({ ...metrics, agentId }))
    const offEvents = ctx.bus.on('agent:events', ({ events }) => manager.sendEvents(events))
    const connectedGauge = () => (manager.status().state === 'connected' ? 1 : 0)
    ctx.metrics.gauge('agent_connected', 'Whether the agent is connected to its server.', connectedGauge)
    ctx.metrics.gauge('agent_reconnects_total', 'Reconnections since the agent started.', () => manager.status().reconnectCount)
    ctx.metrics.gauge('agent_metrics_buffered', 'Metric samples waiting for a connection.', () => manager.status().bufferedMetrics)
    ctx.metrics.gauge('agent_events_buffered', 'Batches of container events waiting for a connection.', () => manager.status().bufferedEvents)
    ctx.metrics.gauge('agent_metrics_dropped_total', 'Metric samples dropped because the buffer was full.', () => manager.status().droppedMetrics)
    const offReady = ctx.hooks.hook('app:ready', () => manager.start())
    const offConnected = manager.on('agent:connected', (event) => ctx.bus.emit('agent:connected', event))
    const offDisconnected = manager.on('agent:disconnected', (event) => ctx.bus.emit('agent:disconnected', event))
    return async () => {
      offReady()
      offMetrics()
      offEvents()
      // After stop: listeners still hear that the agent disconnected because it is stopping.
      await manager.stop()
      offConnected()
      offDisconnected()
    }
  },
}))
