// streams: container and stack logs as NDJSON (one JSON object a line, flushed as it comes; `follow`
// keeps it open), and exec sessions (open, read the output as NDJSON, send input and resizes, close).
// A viewer that reads slowly loses the oldest lines and is told how many (`{"dropped": n}`); closing
// the response stops the work on the node.
import { ThreshError } from '../../../core/index.ts'
import type { LogQuery } from '../../hub-fleet/index.ts'
import { arr, bool, int, obj, str, type Schema } from '../schema.ts'
import { badField, flag, ok } from './params.ts'
import type { Reply, RouteDef } from './route-def.ts'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `since`/`until`: a duration back from now (`10m`, `2h`), an RFC 3339 time, or Unix seconds. */
export function logTime(value: string | undefined, name: string, now = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined
  const relative = /^(\d{1,9})(s|m|h|d)$/.exec(value)
  if (relative) return Math.floor(now / 1000) - Number(relative[1]) * UNITS[relative[2]!]!
  if (/^\d{1,12}(\.\d{1,9})?$/.test(value)) return Number(value)
  const ms = Date.parse(value)
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(value)) return ms / 1000
  throw badField(`query.${name}`, `must be a duration back from now (10m, 2h, 1d), an RFC 3339 time or Unix seconds, got ${JSON.stringify(value.slice(0, 40))}`)
}

function logQuery(query: Record<string, string | undefined>): LogQuery {
  let tail: number | undefined
  if (query.tail !== undefined && query.tail !== '' && query.tail !== 'all') {
    tail = Number(query.tail)
    if (!Number.isInteger(tail) || tail < 0 || tail > 1_000_000) throw badField('query.tail', 'must be a whole number from 0 to 1000000, or all')
  }
  const since = logTime(query.since, 'since')
  const until = logTime(query.until, 'until')
  return { follow: flag(query.follow), ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), ...(tail !== undefined ? { tail } : {}) }
}

/** Errors the node reports while opening a stream, as the status a user would expect. */
function streamError(message: string): ThreshError {
  if (/^No container|has no container/.test(message)) return new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-api', message })
  if (/does not allow exec/.test(message)) return new ThreshError({ code: 'exec_disabled', status: 403, plugin: 'hub-api', message })
  return new ThreshError({ code: 'stream_failed', status: 409, plugin: 'hub-api', message })
}

/**
 * NDJSON from `records`, read only as fast as the client takes it. The first record is awaited
 * briefly so a stream that fails at once (no such container) is answered with its error status.
 */
type Rec = Record<string, unknown>

async function ndjson(records: AsyncIterable<Rec | Rec[]>, controller: AbortController): Promise<Reply> {
  const iterator = records[Symbol.asyncIterator]()
  // The first batch is kept whether or not it came in time: it is what the stream starts with.
  let pending: Promise<IteratorResult<Rec | Rec[]>> | undefined = iterator.next()
  const first = await Promise.race([pending, new Promise<'later'>((resolve) => setTimeout(() => resolve('later'), 1500))])
  // A batch that is all of a stream's end with an error: nothing was sent yet, so answer with its status.
  const firstBatch = first !== 'later' && !first.done ? [first.value].flat() : []
  if (firstBatch.length === 1 && firstBatch[0]!.end === true && typeof firstBatch[0]!.error === 'string') {
    controller.abort()
    throw streamError(firstBatch[0]!.error)
  }
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    async pull(stream) {
      const next = await (pending ?? iterator.next())
      pending = undefined
      if (next.done) {
        stream.close()
        return
      }
      // One write per batch: a line at a time costs a syscall per log line.
      const batch = [next.value].flat()
      if (batch.length > 0) stream.enqueue(encoder.encode(batch.map((r) => JSON.stringify(r)).join('\n') + '\n'))
      if (batch.at(-1)?.end === true) stream.close()
    },
    cancel() {
      controller.abort()
      void iterator.return?.()
    },
  }, { highWaterMark: 1 })
  return {
    status: 200,
    body: undefined,
    response: new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } }),
  }
}

const viewerSignal = (request: Request): AbortController => {
  const controller = new AbortController()
  request.signal.addEventListener('abort', () => controller.abort(), { once: true })
  return controller
}

const logQuerySchema: Record<string, Schema> = {
  follow: str({ description: 'true: keep the response open and send new lines as they are written' }),
  since: str({ description: 'only lines after this: a duration back from now (10m), an RFC 3339 time or Unix seconds' }),
  until: str({ description: 'only lines before this (same forms as since)' }),
  tail: str({ description: 'only the last N lines of each container (or all)' }),
}
const logLine = obj({
  service: str({ description: 'stack logs: the service the line is from' }),
  stream: str({ enum: ['stdout', 'stderr'] }),
  line: str(),
  time: str({ format: 'date-time', description: "Docker's time of the line" }),
  dropped: int({ description: 'instead of a line: this many lines were dropped because the client read too slowly' }),
  end: bool({ description: 'the last line: the stream ended (error says why, if it did not end normally)' }),
  error: str(),
})
const execBody = obj({
  command: arr(str(), { description: 'the command and its arguments (default /bin/sh)' }),
  tty: bool({ description: 'allocate a terminal (interactive shells)' }),
  cols: int({ minimum: 1, maximum: 1000 }),
  rows: int({ minimum: 1, maximum: 1000 }),
})
const execOptions = (body: unknown) => {
  const b = (body ?? {}) as { command?: string[]; tty?: boolean; cols?: number; rows?: number }
  return { command: b.command ?? [], tty: b.tty === true, ...(b.cols ? { cols: b.cols } : {}), ...(b.rows ? { rows: b.rows } : {}) }
}
const ndjsonNote = 'The response is NDJSON (application/x-ndjson): one JSON object a line, sent as it comes.'

export const streamRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/api/nodes/{idOrName}/containers/{container}/logs',
    summary: "A container's logs (NDJSON; follow keeps it open)",
    description: `Any container on the node, by name or id; stdout and stderr kept apart. ${ndjsonNote}`,
    tag: 'streams',
    scope: 'cli',
    role: 'viewer',
    query: logQuerySchema,
    status: 200,
    response: logLine,
    async handle({ principal, params, query, services, request }) {
      const controller = viewerSignal(request)
      const records = await services.fleet.streams.containerLogs(principal!.accountId, params.idOrName!, params.container!, logQuery(query), controller.signal)
      return ndjson(records as AsyncIterable<Rec[]>, controller)
    },
  },
  {
    method: 'get',
    path: '/api/stacks/{name}/logs',
    summary: "A stack's logs, its services interleaved by time (NDJSON)",
    description: `service=a,b picks services (default all); each line names its service. ${ndjsonNote}`,
    tag: 'streams',
    scope: 'cli',
    role: 'viewer',
    query: { ...logQuerySchema, service: str({ description: 'comma-separated service names' }) },
    status: 200,
    response: logLine,
    async handle({ principal, params, query, services, request }) {
      const controller = viewerSignal(request)
      const wanted = (query.service ?? '').split(',').map((s) => s.trim()).filter(Boolean)
      const records = await services.fleet.streams.stackLogs(principal!.accountId, params.name!, wanted, logQuery(query), controller.signal)
      return ndjson(records as AsyncIterable<Rec[]>, controller)
    },
  },
  {
    method: 'post',
    path: '/api/nodes/{idOrName}/containers/{container}/exec',
    summary: 'Start a command or shell in a container (an exec session)',
    description: 'Read its output from GET /api/exec/{id}, send input to POST /api/exec/{id}/input. Audited; closed when idle (execIdleTimeout).',
    tag: 'streams',
    scope: 'cli',
    role: 'operator',
    body: execBody,
    bodyOptional: true,
    status: 201,
    response: obj({ id: str() }),
    async handle({ principal, params, body, services }) {
      return ok(await services.fleet.streams.openExec(principal!, { node: params.idOrName!, container: params.container! }, execOptions(body)), 201)
    },
  },
  {
    method: 'post',
    path: '/api/stacks/{name}/services/{service}/exec',
    summary: "Start a command or shell in a stack service's container",
    tag: 'streams',
    scope: 'cli',
    role: 'operator',
    body: execBody,
    bodyOptional: true,
    status: 201,
    response: obj({ id: str() }),
    async handle({ principal, params, body, services }) {
      return ok(await services.fleet.streams.openExec(principal!, { stack: params.name!, service: params.service! }, execOptions(body)), 201)
    },
  },
  {
    method: 'get',
    path: '/api/exec/{id}',
    summary: "An exec session's output (NDJSON), ending with its exit code",
    description: `Lines: {stream, data}, {dropped}, {exit}, then {end, error?}. Closing the response ends the session. ${ndjsonNote}`,
    tag: 'streams',
    scope: 'cli',
    role: 'operator',
    status: 200,
    response: obj({ stream: str({ enum: ['stdout', 'stderr'] }), data: str(), dropped: int(), exit: int(), end: bool(), error: str() }),
    async handle({ principal, params, services, request }) {
      const controller = viewerSignal(request)
      const records = services.fleet.streams.execOutput(principal!.accountId, params.id!, controller.signal)
      return ndjson(records as AsyncIterable<Rec[]>, controller)
    },
  },
  {
    method: 'post',
    path: '/api/exec/{id}/input',
    summary: 'Input for an exec session: text, end of input, or a terminal resize',
    tag: 'streams',
    scope: 'cli',
    role: 'operator',
    description: 'data is base64 (keystrokes hold control characters that JSON text here may not).',
    body: obj({ data: str({ maxLength: 90_000, pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'base64 of the input bytes' }), eof: bool(), resize: obj({ cols: int({ minimum: 1, maximum: 1000 }), rows: int({ minimum: 1, maximum: 1000 }) }, ['cols', 'rows']) }),
    maxBodyBytes: 300 * 1024,
    status: 200,
    response: obj({ ok: bool() }),
    async handle({ principal, params, body, services }) {
      const input = body as { data?: string; eof?: boolean; resize?: { cols: number; rows: number } }
      const data = input.data === undefined ? undefined : Buffer.from(input.data, 'base64').toString('utf8')
      services.fleet.streams.execInput(principal!.accountId, params.id!, { ...input, ...(data !== undefined ? { data } : {}) })
      return ok({ ok: true })
    },
  },
  {
    method: 'delete',
    path: '/api/exec/{id}',
    summary: 'End an exec session (stops the process on the node)',
    tag: 'streams',
    scope: 'cli',
    role: 'operator',
    status: 200,
    response: obj({ ok: bool() }),
    async handle({ principal, params, services }) {
      services.fleet.streams.closeExec(principal!.accountId, params.id!)
      return ok({ ok: true })
    },
  },
]
