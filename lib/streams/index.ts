// Streams through the fleet (logs, exec): one piece shared by the agent, the mid-tier and the hub.
export * from './types.ts'
export { createStreamBuffer, STREAM_BUFFER_DEFAULTS, type StreamBuffer, type StreamBufferOptions } from './buffer.ts'
export { createStreamTable, type StreamReader, type StreamRoute, type StreamTable } from './table.ts'
export { createStreamSources, relayReader, splitBatch, subjectSink, type StreamHandler, type StreamSink, type StreamSources, type StreamWork } from './source.ts'
export { mergeByTime, type Tagged } from './merge.ts'
