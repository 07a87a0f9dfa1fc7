// The Docker engine's errors as the runtime reports them: the HTTP status, the engine's own sentence
// without dockerode's prefix, and one `docker_unavailable` error when the engine cannot be reached.
import { ThreshError } from '../../core/index.ts'

export const PLUGIN = 'runtime-docker'

export function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode
}

export function reason(error: unknown): string {
  const e = error as { json?: { message?: string }; reason?: string; message?: string }
  const text = e?.json?.message ?? e?.message ?? String(error)
  return text.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim()
}

export function unreachable(error: unknown): ThreshError {
  if (error instanceof ThreshError) return error
  return new ThreshError({
    code: 'docker_unavailable',
    message: `Cannot reach the Docker engine: ${reason(error)}`,
    plugin: PLUGIN,
    status: 503,
    cause: error,
  })
}

export function stackNotFound(name: string): ThreshError {
  return new ThreshError({ code: 'stack_not_found', message: `No stack named ${name} on this node`, plugin: PLUGIN, status: 404 })
}
