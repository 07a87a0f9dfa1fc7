// The agent side of agent sessions: the SignalR and REST polling clients an agent talks to a mid-tier
// or hub with. Nothing here loads the server side.
export type * from '../protocol.ts'
export type * from './types.ts'
export { createSignalRAgentClient } from './signalr-agent-client.ts'
export type { SignalRAgentClientOptions, SignalRTransportName } from './signalr-agent-client.ts'
export { AgentRequestError, createRestPollAgentClient } from './rest-poll-agent-client.ts'
export type { RestPollAgentClientOptions } from './rest-poll-agent-client.ts'
export { createCommandRunner } from './command-runner.ts'
export { jitteredDelay } from './retry.ts'
