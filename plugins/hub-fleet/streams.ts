// Streams on the hub: container and stack logs (stack logs interleaved by time) and exec sessions,
// opened on the agent through the embedded gateway or the mid-tier that holds it. Every session is
// audited; an idle one is closed.
import { ThreshError } from '../../core/index.ts'
import { actorOf, type Principal } from '../../lib/auth/principal.ts'
import { newId } from '../../lib/ids.ts'
import { mergeByTime, type StreamChunk, type StreamOpen, type StreamReader } from '../../lib/streams/index.ts'
import type { NodeRecord, StackRecord } from '../../lib/storage/types.ts'
import type { AuditLog } from '../hub-auth/index.ts'

export interface LogQuery {
  follow: boolean
  /** Unix seconds. */
  since?: number
  until?: number
  tail?: number
}

export type LogRecord =
  | { service?: string; stream: 'stdout' | 'stderr'; line: string; time?: string }
  | { service?: string; dropped: number }
  | { service?: string; end: true; error?: string }

export type ExecRecord = { stream: 'stdout' | 'stderr'; data: string } | { dropped: number } | { exit: number } | { end: true; error?: string }

/** A container (by name or id) on a node, or a stack's service. */
export type ExecTarget = { node: string; container: string } | { stack: string; service: string }

export interface ExecOptions {
  command: string[]
  tty: boolean
  cols?: number
  rows?: number
}

export interface FleetStreams {
  /** Resolves (or throws 404/409) before anything is read, so the caller can answer with an error. */
  /** Records in batches, as they arrived together. */
  containerLogs(accountId: string, node: string, container: string, query: LogQuery, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>>
  stackLogs(accountId: string, stack: string, services: string[], query: LogQuery, signal: AbortSignal): Promise<AsyncIterable<LogRecord[]>>
  openExec(principal: Principal, target: ExecTarget, options: ExecOptions): Promise<{ id: string }>
  execOutput(accountId: string, id: string, signal: AbortSignal): AsyncIterable<ExecRecord>
  execInput(accountId: string, id: string, input: { data?: string; eof?: boolean; resize?: { cols: number; rows: number } }): void
  closeExec(accountId: string, id: string): void
  stats(): { execSessions: number }
  close(): void
}

interface ExecSession {
  id: string
  accountId: string
  reader: StreamReader
  lastActive: number
  reading: boolean
  closedBecause?: string
  finish: (exitCode: number | null, reason?: string) => void
}

const notFound = (message: string) => new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-fleet', message })

function* logRecords(chunks: StreamChunk[], service?: string): Generator<LogRecord> {
  const tag = service === undefined ? {} : { service }
  for (const chunk of chunks) {
    if (chunk.s === 'stdout' || chunk.s === 'stderr') yield { ...tag, stream: chunk.s, line: chunk.d, ...(chunk.t ? { time: chunk.t } : {}) }
    else if (chunk.s === 'dropped') yield { ...tag, dropped: chunk.n }
  }
}

async function* readLogs(reader: StreamReader, signal: AbortSignal): AsyncGenerator<LogRecord[]> {
  try {
    for (;;) {
      const batch = await reader.next(signal)
      if (batch.done) {
        yield [batch.error === undefined || batch.error === 'cancelled' ? { end: true } : { end: true, error: batch.error }]
        return
      }
      yield [...logRecords(batch.chunks)]
    }
  } finally {
    reader.cancel()
  }
}

async function* mergeLogs(readers: Array<{ name: string; reader: StreamReader }>, signal: AbortSignal, cancel: () => void): AsyncGenerator<LogRecord[]> {
  try {
    for await (const item of mergeByTime(readers, { signal })) {
      if ('end' in item) {
        if (item.error !== undefined && item.error !== 'cancelled') yield [{ service: item.source, end: true, error: item.error }]
        continue
      }
      yield [...logRecords([item.chunk], item.source)]
    }
    yield [{ end: true }]
  } finally {
    cancel()
  }
}

export function createFleetStreams(deps: {
  /** Opens a stream on the node's agent wherever it is connected; throws 409 when it is not. */
  open(node: NodeRecord, open: StreamOpen): StreamReader
  findNode(accountId: string, idOrName: string): Promise<NodeRecord>
  findStack(accountId: string, name: string): Promise<{ stack: StackRecord; node: NodeRecord }>
  audit: AuditLog
  idleMs: () => number
  logger: { warn(message: string): void }
}): FleetStreams {
  const sessions = new Map<string, ExecSession>()
  const logsArgs = (query: LogQuery) => ({
    follow: query.follow,
    ...(query.since !== undefined ? { since: query.since } : {}),
    ...(query.until !== undefined ? { until: query.until } : {}),
    ...(query.tail !== undefined ? { tail: query.tail } : {}),
  })

  const idleSweep = setInterval(() => {
    const now = Date.now()
    const idleMs = deps.idleMs()
    for (const session of sessions.values()) {
      if (now - session.lastActive < idleMs) continue
      session.closedBecause = `The session was idle for ${Math.round(idleMs / 1000)} s and was closed.`
      session.reader.cancel()
      session.finish(null, 'idle')
    }
  }, 1000)
  ;(idleSweep as { unref?: () => void }).unref?.()

  const sessionOf = (accountId: string, id: string) => {
    const session = sessions.get(id)
    if (!session || session.accountId !== accountId) throw notFound(`No exec session ${id}; it ended or never existed.`)
    return session
  }

  return {
    async containerLogs(accountId, nodeRef, container, query, signal) {
      const node = await deps.findNode(accountId, nodeRef)
      const reader = deps.open(node, { streamId: newId(), kind: 'logs', arguments: { container, ...logsArgs(query) } })
      signal.addEventListener('abort', () => reader.cancel(), { once: true })
      return readLogs(reader, signal)
    },
    async stackLogs(accountId, name, services, query, signal) {
      const { stack, node } = await deps.findStack(accountId, name)
      const known = stack.services.map((s) => s.name)
      const unknown = services.filter((s) => !known.includes(s))
      if (unknown.length > 0) throw notFound(`Stack ${stack.name} has no service ${unknown.join(', ')} (it has ${known.join(', ')}).`)
      const wanted = services.length > 0 ? services : known
      const readers = wanted.map((service) => ({
        name: service,
        reader: deps.open(node, { streamId: newId(), kind: 'logs', arguments: { stack: stack.name, service, ...logsArgs(query) } }),
      }))
      const cancel = () => readers.forEach((r) => r.reader.cancel())
      signal.addEventListener('abort', cancel, { once: true })
      return mergeLogs(readers, signal, cancel)
    },
    async openExec(principal, target, options) {
      const id = newId()
      const where = 'container' in target ? target.container : `${target.stack}/${target.service}`
      const node = 'node' in target ? await deps.findNode(principal.accountId, target.node) : (await deps.findStack(principal.accountId, target.stack)).node
      const reader = deps.open(node, {
        streamId: id,
        kind: 'exec',
        arguments: {
          ...('container' in target ? { container: target.container } : { stack: target.stack, service: target.service }),
          command: options.command,
          tty: options.tty,
          ...(options.cols && options.rows ? { cols: options.cols, rows: options.rows } : {}),
        },
      })
      const start = new Date().toISOString()
      const details = { sessionId: id, node: node.hostname, container: where, command: options.command.length > 0 ? options.command : ['/bin/sh'], tty: options.tty, start }
      await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'exec.start', target: `node:${node.hostname}`, details })
      let finished = false
      const session: ExecSession = {
        id,
        accountId: principal.accountId,
        reader,
        lastActive: Date.now(),
        reading: false,
        finish(exitCode, reason) {
          if (finished) return
          finished = true
          sessions.delete(id)
          deps.audit
            .record({ accountId: principal.accountId, actor: actorOf(principal), action: 'exec.end', target: `node:${node.hostname}`, details: { ...details, end: new Date().toISOString(), exitCode, ...(reason ? { reason } : {}) } })
            .catch((error) => deps.logger.warn(`Recording the end of exec session ${id} failed: ${(error as Error).message}`))
        },
      }
      sessions.set(id, session)
      return { id }
    },
    async *execOutput(accountId, id, signal) {
      const session = sessionOf(accountId, id)
      if (session.reading) throw new ThreshError({ code: 'conflict', status: 409, plugin: 'hub-fleet', message: `Exec session ${id} already has a reader.` })
      session.reading = true
      let exitCode: number | null = null
      try {
        for (;;) {
          const batch = await session.reader.next(signal)
          session.lastActive = Date.now()
          if (batch.done) {
            const error = session.closedBecause ?? (batch.error === 'cancelled' ? undefined : batch.error)
            session.finish(exitCode, error)
            yield error === undefined ? { end: true } : { end: true, error }
            return
          }
          for (const chunk of batch.chunks) {
            if (chunk.s === 'exit') {
              exitCode = chunk.code
              yield { exit: chunk.code }
            } else if (chunk.s === 'dropped') yield { dropped: chunk.n }
            else yield { stream: chunk.s, data: chunk.d }
          }
        }
      } finally {
        session.reading = false
        // The viewer went away (Ctrl-C, a closed tab): the process on the node is stopped.
        if (signal.aborted && sessions.has(id)) {
          session.reader.cancel()
          session.finish(exitCode, 'viewer closed')
        }
      }
    },
    execInput(accountId, id, input) {
      const session = sessionOf(accountId, id)
      session.lastActive = Date.now()
      if (input.data !== undefined) session.reader.control({ streamId: id, op: 'input', data: input.data })
      if (input.resize) session.reader.control({ streamId: id, op: 'resize', cols: input.resize.cols, rows: input.resize.rows })
      if (input.eof) session.reader.control({ streamId: id, op: 'eof' })
    },
    closeExec(accountId, id) {
      const session = sessionOf(accountId, id)
      session.reader.cancel()
      session.finish(null, 'closed')
    },
    stats: () => ({ execSessions: sessions.size }),
    close() {
      clearInterval(idleSweep)
      for (const session of sessions.values()) {
        session.reader.cancel()
        session.finish(null, 'hub stopping')
      }
    },
  }
}
