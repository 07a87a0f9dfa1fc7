// The transport-rest-poll plugin: CONTRACT §4's REST polling endpoints for agents that cannot hold a
// WebSocket, fed into the same agent gateway as the SignalR agent hub.
import { definePlugin } from '../../core/index.ts'
import { mountRestPollRoutes, type AgentGateway, type RestPollOptions } from '../../lib/agent-session/server/index.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    /** Created by the role's hub or mid-tier plugin with its key authenticator. */
    'agent-gateway': AgentGateway
  }
}

export default definePlugin((options: RestPollOptions = {}) => ({
  name: 'transport-rest-poll',
  requires: ['agent-gateway'],
  setup(ctx) {
    mountRestPollRoutes(ctx.server.app, ctx.use('agent-gateway'), options)
  },
}))
