// The server side of agent sessions, on a mid-tier or a hub: the agent gateway and the two transports
// that feed it (`/agenthub` over SignalR, REST polling at `/api/agent/*`).
export type * from '../protocol.ts'
export { createAgentGateway } from './gateway.ts'
export type {
  AgentAdmission,
  AgentAuthenticator,
  AgentBinding,
  AgentGateway,
  AgentGatewayEvents,
  AgentGatewayOptions,
  AgentPrincipal,
  AgentStreamMessage,
  ConnectedAgent,
  SendCommandOptions,
} from './gateway.ts'
export { mountAgentHub } from './signalr-agent-hub.ts'
export { mountRestPollRoutes } from './rest-poll-routes.ts'
export type { RestPollOptions } from './rest-poll-routes.ts'
