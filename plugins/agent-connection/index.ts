// The agent-connection plugin: the agent's session with its mid-tier or hub (CONTRACT §4, §7),
// provided as `agent-connection`; it sends what `metrics:collected` carries and runs commands through
// the handler another plugin (agent-commands) sets.
import os from 'node:os'
import { definePlugin } from '../../core/index.ts'
import { version } from '../../cli/version.ts'
import type { CommandHandler, StackServiceStatusUpdate } from '../../lib/agent-session/index.ts'
import { createConnectionManager, type ConnectionStatus, type TargetName, type TransportSetting } from './connection-manager.ts'
import { agentInfo, loadAgentId, type HostFacts } from './identity.ts'

export { createConnectionManager, isAuthError } from './connection-manager.ts'
export type { ConnectionManager, ConnectionManagerOptions, ConnectionState, ConnectionStatus, TargetName } from './connection-manager.ts'
export { createOutbox } from './outbox.ts'
export { loadAgentId } from './identity.ts'

export interface AgentConnectionService {
  readonly agentId: string
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
}

export interface AgentConnectionOptions {
  failoverAfterAttempts?: number
  outboxLimit?: number
  restWaitSeconds?: number
}

export default definePlugin((options: AgentConnectionOptions = {}) => ({
  name: 'agent-connection',
  provides: ['agent-connection'],
  setup(ctx) {
    const merged = { ...(ctx.options as AgentConnectionOptions), ...options }
    const config = ctx.config as Record<string, unknown>
    const str = (key: string) => (typeof config[key] === 'string' && config[key] !== '' ? (config[key] as string) : undefined)
    const agentId = loadAgentId(ctx.dataDir)
    const apiKey = str('apiKey') ?? ''
    const primaryUrl = str('midtierUrl')
    const fallbackUrl = str('fallbackUrl')

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
      fallback: fallbackUrl ? { url: fallbackUrl, apiKey: str('fallbackApiKey') ?? apiKey } : undefined,
      transport: (str('transport') ?? 'auto') as TransportSetting,
      tlsVerify: config.tlsVerify !== false,
      autoFailover: config.autoFailover === true,
      failbackDelayMs: (config.failbackDelay as number | undefined) ?? 300_000,
      reconnectDelayMs: (config.reconnectDelay as number | undefined) ?? 5_000,
      failoverAfterAttempts: merged.failoverAfterAttempts,
      outboxLimit: merged.outboxLimit,
      restWaitSeconds: merged.restWaitSeconds,
      info: async () => agentInfo(agentId, str('nodeName'), version, await hostFacts()),
      handler: (command) => commandHandler(command),
      logger: ctx.logger,
    })
    if (primaryUrl && !apiKey) ctx.logger.warn('No api-key is configured: the server will refuse this agent (thresh agent config set api-key thresh_live_...).')
    if (!primaryUrl) ctx.logger.info('No midtier-url is configured: the agent runs without a server.')

    ctx.provide('agent-connection', {
      agentId,
      status: () => manager.status(),
      setCommandHandler(handler) {
        commandHandler = handler
      },
      sendStatusUpdate: (update) => manager.sendStatusUpdate(update),
      switchTo: (target) => manager.switchTo(target),
    })
    const offMetrics = ctx.bus.on('metrics:collected', (metrics) => manager.sendMetrics({ ...metrics, agentId }))
    const connectedGauge = () => (manager.status().state === 'connected' ? 1 : 0)
    ctx.metrics.gauge('agent_connected', 'Whether the agent is connected to its server.', connectedGauge)
    ctx.metrics.gauge('agent_reconnects_total', 'Reconnections since the agent started.', () => manager.status().reconnectCount)
    ctx.metrics.gauge('agent_metrics_buffered', 'Metric samples waiting for a connection.', () => manager.status().bufferedMetrics)
    ctx.metrics.gauge('agent_metrics_dropped_total', 'Metric samples dropped because the buffer was full.', () => manager.status().droppedMetrics)
    const offReady = ctx.hooks.hook('app:ready', () => manager.start())
    return async () => {
      offReady()
      offMetrics()
      await manager.stop()
    }
  },
}))
