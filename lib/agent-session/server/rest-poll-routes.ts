// The REST polling fallback of CONTRACT §4, mounted on a Hono app and fed into the agent gateway:
// register, metrics, long-polled commands (`?wait=`) and command results, keyed by X-Agent-Id.
import type { Context, Hono } from 'hono'
import { readLimitedText } from '../../http/read-limited-body.ts'
import type { AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from '../protocol.ts'
import type { AgentBinding, AgentGateway, AgentPrincipal } from './gateway.ts'

export interface RestPollOptions {
  /** Longest `?wait=` honoured, in seconds (default 60). */
  maxWaitSeconds?: number
  /** Largest JSON body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number
}

function errorBody(c: Context, status: number, error: string, message: string) {
  return c.json({ error, message }, status as 400)
}

function fail(c: Context, error: unknown) {
  const status = (error as { status?: unknown }).status
  const code = (error as { code?: unknown }).code
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const retryAfter = ((error as { details?: { retryAfterSeconds?: unknown } }).details ?? {}).retryAfterSeconds
    if (status === 429 && typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter))
    return errorBody(c, status, typeof code === 'string' ? code : status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'bad_request', (error as Error).message)
  }
  return errorBody(c, 500, 'internal_error', 'The request failed on the server.')
}

export function mountRestPollRoutes(app: Hono, gateway: AgentGateway, options: RestPollOptions = {}): void {
  const maxWaitSeconds = options.maxWaitSeconds ?? 60
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
  // One binding per agent keeps the gateway's "same session" checks stable across polls.
  const bindings = new Map<string, AgentBinding>()
  const bindingFor = (agentId: string): AgentBinding => {
    let binding = bindings.get(agentId)
    if (!binding) {
      binding = { transport: 'rest' }
      bindings.set(agentId, binding)
    }
    return binding
  }

  const principalOf = async (c: Context): Promise<AgentPrincipal> => {
    const header = c.req.header('authorization')
    const token = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined
    return await gateway.authenticate(token)
  }
  const agentIdOf = (c: Context, body?: { agentId?: unknown }): string => {
    const agentId = c.req.header('x-agent-id') ?? (typeof body?.agentId === 'string' ? body.agentId : undefined)
    if (!agentId) throw Object.assign(new Error('The X-Agent-Id header is required.'), { status: 400, code: 'agent_id_required' })
    return agentId
  }
  const bodyOf = async <T>(c: Context): Promise<T> => {
    // Counted while it streams in: a chunked body has no Content-Length to check up front.
    const text = await readLimitedText(c.req.raw, maxBodyBytes)
    if (text === undefined) {
      throw Object.assign(new Error(`The request body is larger than ${maxBodyBytes} bytes.`), { status: 413, code: 'payload_too_large' })
    }
    try {
      const value = JSON.parse(text) as unknown
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object')
      return value as T
    } catch {
      throw Object.assign(new Error('The request body must be a JSON object.'), { status: 400, code: 'invalid_body' })
    }
  }

  app.post('/api/agent/register', async (c) => {
    try {
      const principal = await principalOf(c)
      const info = await bodyOf<AgentInfo>(c)
      const agentId = c.req.header('x-agent-id') ?? info.agentId
      if (typeof agentId !== 'string' || !agentId) throw Object.assign(new Error('AgentInfo.agentId is required.'), { status: 400, code: 'invalid_agent_info' })
      await gateway.register(principal, { ...info, agentId }, bindingFor(agentId))
      return c.json({ ok: true, agentId })
    } catch (error) {
      return fail(c, error)
    }
  })

  app.post('/api/agent/metrics', async (c) => {
    try {
      const principal = await principalOf(c)
      const metrics = await bodyOf<MetricsData>(c)
      const agentId = agentIdOf(c, metrics)
      await gateway.metrics(principal, agentId, { ...metrics, agentId })
      return c.json({ ok: true })
    } catch (error) {
      return fail(c, error)
    }
  })

  app.post('/api/agent/status', async (c) => {
    try {
      const principal = await principalOf(c)
      const update = await bodyOf<StackServiceStatusUpdate>(c)
      await gateway.statusUpdate(principal, agentIdOf(c), update)
      return c.json({ ok: true })
    } catch (error) {
      return fail(c, error)
    }
  })

  // `{ events: AgentEvent[] }`: container events, an addition to the original protocol.
  app.post('/api/agent/events', async (c) => {
    try {
      const principal = await principalOf(c)
      const body = await bodyOf<{ events?: unknown }>(c)
      gateway.events(principal, agentIdOf(c), body.events as never)
      return c.json({ ok: true })
    } catch (error) {
      return fail(c, error)
    }
  })

  app.get('/api/agent/commands', async (c) => {
    try {
      const principal = await principalOf(c)
      const agentId = agentIdOf(c)
      const raw = c.req.query('wait')
      const wait = raw === undefined ? 0 : Number(raw)
      if (!Number.isFinite(wait) || wait < 0) {
        return errorBody(c, 400, 'invalid_wait', 'wait must be a number of seconds >= 0.')
      }
      const signal = c.req.raw.signal
      const commands = await gateway.takeCommands(principal, agentId, Math.min(wait, maxWaitSeconds) * 1000, signal)
      if (signal?.aborted && commands.length > 0) {
        // The agent hung up before we answered: those commands were never received.
        gateway.returnCommands(agentId, commands)
        return c.body(null, 204)
      }
      return c.json({ commands })
    } catch (error) {
      return fail(c, error)
    }
  })

  app.post('/api/agent/commands/:id/result', async (c) => {
    try {
      const principal = await principalOf(c)
      const result = await bodyOf<CommandResult>(c)
      const agentId = agentIdOf(c, result)
      await gateway.commandResult(principal, agentId, { ...result, agentId, commandId: c.req.param('id') })
      return c.json({ ok: true })
    } catch (error) {
      return fail(c, error)
    }
  })
}
