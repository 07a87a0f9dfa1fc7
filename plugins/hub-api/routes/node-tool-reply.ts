// The reply for a node tool (containers, images, volumes, environments): its output, or the agent's
// refusal with the status that fits it, and the edge checks of the names those routes take.
import type { NodeToolResult } from '../../hub-fleet/index.ts'
import { badField, ok } from './params.ts'
import type { Reply } from './route-def.ts'

const STATUS: Record<string, number> = { bad_arguments: 400, not_found: 404, managed_by_stack: 409, conflict: 409, command_timeout: 504 }

export function nodeToolReply(result: NodeToolResult, shape: (value: Record<string, unknown>) => unknown = (v) => v): Reply {
  if (!result.ok) return ok({ error: result.code === 'bad_arguments' ? 'invalid_request' : result.code, message: result.message, commandId: result.commandId }, STATUS[result.code] ?? 409)
  return ok({ commandId: result.commandId, ...(shape(result.value) as object) })
}

const PATTERNS = {
  container: { re: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, hint: 'a container name or id (letters, digits, _ . -)' },
  image: { re: /^[a-zA-Z0-9][a-zA-Z0-9_./:@-]{0,254}$/, hint: 'an image name, name:tag or id' },
  volume: { re: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/, hint: 'a volume name (letters, digits, _ . -)' },
  environment: { re: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, hint: 'an environment name' },
}

/** The path parameter, or a 400 naming it. */
export function nameParam(params: Record<string, string>, key: keyof typeof PATTERNS): string {
  const value = params[key] ?? ''
  if (!PATTERNS[key].re.test(value)) throw badField(`path.${key}`, `must be ${PATTERNS[key].hint}, got ${JSON.stringify(value.slice(0, 80))}`)
  return value
}
