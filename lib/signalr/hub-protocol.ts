// The JSON hub protocol: message shapes, strict parsing of what a client sends, and serialisation of
// what the server sends. Field rules follow the ASP.NET Core HubProtocol spec.
import { RECORD_SEPARATOR, writeRecord } from './framing.ts'

export const MessageType = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
  Ack: 8,
  Sequence: 9,
} as const

export interface InvocationMessage {
  type: 1
  invocationId?: string
  target: string
  arguments: unknown[]
  streamIds?: string[]
  headers?: Record<string, string>
}
export interface StreamItemMessage {
  type: 2
  invocationId: string
  item: unknown
}
export interface CompletionMessage {
  type: 3
  invocationId: string
  result?: unknown
  error?: string
}
export interface StreamInvocationMessage {
  type: 4
  invocationId: string
  target: string
  arguments: unknown[]
  streamIds?: string[]
}
export interface CancelInvocationMessage {
  type: 5
  invocationId: string
}
export interface PingMessage {
  type: 6
}
export interface CloseMessage {
  type: 7
  error?: string
  allowReconnect?: boolean
}
export interface AckMessage {
  type: 8
  sequenceId: number
}
export interface SequenceMessage {
  type: 9
  sequenceId: number
}

export type HubMessage =
  | InvocationMessage
  | StreamItemMessage
  | CompletionMessage
  | StreamInvocationMessage
  | CancelInvocationMessage
  | PingMessage
  | CloseMessage
  | AckMessage
  | SequenceMessage

/** The client broke the protocol; the connection is closed with this message as the error. */
export class HubProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HubProtocolError'
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function requireString(message: Record<string, unknown>, field: string): string {
  const value = message[field]
  if (typeof value !== 'string') {
    throw new HubProtocolError(`Expected '${field}' to be of type string.`)
  }
  return value
}

function optionalString(message: Record<string, unknown>, field: string): string | undefined {
  const value = message[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new HubProtocolError(`Expected '${field}' to be of type string.`)
  return value
}

function requireArguments(message: Record<string, unknown>): unknown[] {
  const value = message.arguments
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new HubProtocolError(`Expected 'arguments' to be of type array.`)
  return value
}

function optionalStreamIds(message: Record<string, unknown>): string[] | undefined {
  const value = message.streamIds
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) {
    throw new HubProtocolError(`Expected 'streamIds' to be an array of strings.`)
  }
  return value
}

function requireNumber(message: Record<string, unknown>, field: string): number {
  const value = message[field]
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new HubProtocolError(`Expected '${field}' to be of type integer.`)
  }
  return value
}

/** Parses one record (separator already removed) into a validated message. */
export function parseHubMessage(record: string): HubMessage {
  let parsed: unknown
  try {
    parsed = JSON.parse(record)
  } catch {
    throw new HubProtocolError('Error reading JSON.')
  }
  if (!isRecord(parsed)) throw new HubProtocolError('Expected a JSON object.')
  const type = parsed.type
  if (typeof type !== 'number') throw new HubProtocolError("Missing required property 'type'.")
  switch (type) {
    case MessageType.Invocation: {
      const invocationId = optionalString(parsed, 'invocationId')
      const message: InvocationMessage = {
        type: 1,
        target: requireString(parsed, 'target'),
        arguments: requireArguments(parsed),
      }
      if (invocationId !== undefined) message.invocationId = invocationId
      const streamIds = optionalStreamIds(parsed)
      if (streamIds) message.streamIds = streamIds
      return message
    }
    case MessageType.StreamItem:
      if (!('item' in parsed)) throw new HubProtocolError("Missing required property 'item'.")
      return { type: 2, invocationId: requireString(parsed, 'invocationId'), item: parsed.item }
    case MessageType.Completion: {
      const invocationId = requireString(parsed, 'invocationId')
      const hasResult = 'result' in parsed
      const hasError = 'error' in parsed && parsed.error !== undefined
      if (hasResult && hasError) {
        throw new HubProtocolError("The 'error' and 'result' properties are mutually exclusive.")
      }
      if (hasError) return { type: 3, invocationId, error: requireString(parsed, 'error') }
      if (hasResult) return { type: 3, invocationId, result: parsed.result }
      return { type: 3, invocationId }
    }
    case MessageType.StreamInvocation: {
      const message: StreamInvocationMessage = {
        type: 4,
        invocationId: requireString(parsed, 'invocationId'),
        target: requireString(parsed, 'target'),
        arguments: requireArguments(parsed),
      }
      const streamIds = optionalStreamIds(parsed)
      if (streamIds) message.streamIds = streamIds
      return message
    }
    case MessageType.CancelInvocation:
      return { type: 5, invocationId: requireString(parsed, 'invocationId') }
    case MessageType.Ping:
      return { type: 6 }
    case MessageType.Close: {
      const message: CloseMessage = { type: 7 }
      const error = optionalString(parsed, 'error')
      if (error !== undefined) message.error = error
      if (typeof parsed.allowReconnect === 'boolean') message.allowReconnect = parsed.allowReconnect
      return message
    }
    case MessageType.Ack:
      return { type: 8, sequenceId: requireNumber(parsed, 'sequenceId') }
    case MessageType.Sequence:
      return { type: 9, sequenceId: requireNumber(parsed, 'sequenceId') }
    default:
      throw new HubProtocolError(`Unknown message type: ${String(type)}.`)
  }
}

/** Serialises a message as one framed record. */
export function writeHubMessage(message: HubMessage): string {
  // The answer to most invocations (a void method): one per call, so without an object walk.
  if (message.type === MessageType.Completion && !('result' in message) && message.error === undefined) {
    return `{"type":3,"invocationId":${JSON.stringify(message.invocationId)}}${RECORD_SEPARATOR}`
  }
  if (message.type === MessageType.StreamItem && message.item === undefined) {
    // JSON.stringify drops undefined, and the JS client throws on a StreamItem without `item`.
    return writeRecord(JSON.stringify({ ...message, item: null }))
  }
  return writeRecord(JSON.stringify(message))
}

export const PING_RECORD: string = writeHubMessage({ type: MessageType.Ping })

// ---- handshake ----

export interface HandshakeRequest {
  protocol: string
  version: number
}

export const HANDSHAKE_OK: string = writeRecord('{}')

export function writeHandshakeError(error: string): string {
  return writeRecord(JSON.stringify({ error }))
}

/**
 * Validates a handshake record. Returns the request, or an error sentence worded as ASP.NET Core
 * words it, which is sent back before the connection closes.
 */
export function parseHandshake(record: string): HandshakeRequest | { error: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(record)
  } catch {
    return { error: 'Handshake request is not valid JSON.' }
  }
  if (!isRecord(parsed)) return { error: 'Handshake request must be a JSON object.' }
  const { protocol, version } = parsed
  if (typeof protocol !== 'string') return { error: "Missing required property 'protocol'." }
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return { error: "Missing required property 'version'." }
  }
  if (protocol !== 'json') return { error: `The protocol '${protocol}' is not supported.` }
  if (version < 1 || version > 2) {
    return { error: `The server does not support version ${version} of the 'json' protocol.` }
  }
  return { protocol, version }
}
