// Turns thrown errors into `{ error, message }` JSON with the right status, and never leaks a stack.
import type { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { isThreshError, type Logger } from '../../core/index.ts'

export function installErrorHandlers(app: Hono, logger: Logger): void {
  app.notFound((c) => c.json({ error: 'not_found', message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}.` }, 404))
  app.onError((error, c) => {
    if (isThreshError(error)) {
      if (error.status >= 500) logger.error(error.toString())
      const body: Record<string, unknown> = { error: error.code, message: error.message }
      if (Array.isArray(error.details)) body.details = error.details
      return c.json(body, error.status as 500)
    }
    if (error instanceof HTTPException) {
      const status = error.status
      const code = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : status === 400 ? 'bad_request' : 'http_error'
      return c.json({ error: code, message: error.message || 'Request failed.' }, status)
    }
    logger.error(`Unhandled error on ${c.req.method} ${new URL(c.req.url).pathname}: ${(error as Error).message}`)
    return c.json({ error: 'internal', message: 'The server failed to handle this request.' }, 500)
  })
}
