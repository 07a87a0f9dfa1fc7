// The transport-rest-poll plugin: CONTRACT §4's REST polling endpoints for agents that cannot hold a
// WebSocket, on the agent-gateway plugin's gateway next to its SignalR agent hub.
import { definePlugin } from '../../core/index.ts'
import { mountRestPollRoutes, type RestPollOptions } from '../../lib/agent-session/server/index.ts'
import type {} from '../agent-gateway/index.ts'

export default definePlugin((options: RestPollOptions = {}) => ({
  name: 'transport-rest-poll',
  requires: ['agent-gateway'],
  setup(ctx) {
    mountRestPollRoutes(ctx.server.app, ctx.use('agent-gateway'), options)
  },
}))
