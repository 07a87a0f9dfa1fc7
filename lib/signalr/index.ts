// The runtime-neutral SignalR server library: public entry point.
export { createSignalRServer, formatServerSentEvent } from './server.ts'
export type { SignalRServer, SignalRServerOptions } from './server.ts'
export { HubException } from './types.ts'
export type {
  AuthRequest,
  ClientProxy,
  ConnectionInfo,
  Hub,
  HubDefinition,
  HubMethod,
  HubMethodContext,
  HubStreamMethod,
  SingleClientProxy,
  TransportKind,
} from './types.ts'
export { createRecordReader, MessageTooLargeError, RECORD_SEPARATOR, utf8Length, writeRecord } from './framing.ts'
export { HubProtocolError, MessageType, parseHandshake, parseHubMessage, writeHubMessage } from './hub-protocol.ts'
export type { HubMessage } from './hub-protocol.ts'
export { newConnectionId, redactAccessToken } from './ids.ts'
