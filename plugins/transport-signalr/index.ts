// The transport-signalr plugin: a SignalR-compatible server on the role's HTTP app, provided as the
// `signalr` service; hub plugins call `ctx.use('signalr').mapHub('/agenthub', ...)`.
import { defineFields, definePlugin } from '../../core/index.ts'
import { createSignalRServer, type SignalRServer, type TransportKind } from '../../lib/signalr/index.ts'

export type { Hub, HubDefinition, HubMethodContext, SignalRServer } from '../../lib/signalr/index.ts'
export { HubException } from '../../lib/signalr/index.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    signalr: SignalRServer
  }
}

export interface TransportSignalROptions {
  maxMessageSize?: number
  keepAliveMs?: number
  clientTimeoutMs?: number
  handshakeTimeoutMs?: number
  disconnectTimeoutMs?: number
  pollTimeoutMs?: number
  transports?: TransportKind[]
  maxPendingNegotiations?: number
  corsOrigins?: string[]
}

export const transportSignalRFields = defineFields({
  pendingNegotiationsPerAccount: {
    type: 'number',
    description: 'SignalR negotiations one account may hold before connecting (the rest of the table stays for other accounts)',
    default: 1000,
    min: 1,
  },
})

export default definePlugin((options: TransportSignalROptions = {}) => ({
  name: 'transport-signalr',
  provides: ['signalr'],
  config: transportSignalRFields,
  setup(ctx) {
    const server = createSignalRServer({
      maxPendingNegotiationsPerOwner: ctx.settings.pendingNegotiationsPerAccount,
      ...options,
      app: ctx.server.app,
      upgradeWebSocket: ctx.server.upgradeWebSocket,
      logger: ctx.logger,
    })
    ctx.provide('signalr', server)
    ctx.metrics.gauge('signalr_connections', 'Open SignalR connections across all hubs.', () => server.connectionCount)
    return () => server.close()
  },
}))
