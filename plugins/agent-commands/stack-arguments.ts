// Turns a command's arguments into a validated stack: the hub's deploy_stack shape
// ({stackId, stackName, traefik, services:[...]}, already resolved) or a full stack definition,
// bare or under `stack`/`definition`. Objects in the normalised form (ports, volumes) are accepted too.
import { ThreshError } from '../../core/index.ts'
import { formatPort, formatVolume, parseStack, type StackDefinition } from '../../lib/stack/index.ts'
import { EXTRA_SERVICE_FIELDS, EXTRA_STACK_FIELDS } from '../../lib/stack/service-extras.ts'

const SERVICE_FIELDS = ['name', 'image', 'ports', 'volumes', 'env', 'environment', 'depends_on', 'dependsOn', 'traefik', 'route', 'command', 'healthcheck', ...EXTRA_SERVICE_FIELDS, 'labels'] as const

export type Args = Record<string, unknown>

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined)

// The host port may be left out of the object form (published on the same number); the text form
// then goes through parseStack like any other, so a bad value is reported there.
function portText(port: unknown): unknown {
  if (!isObject(port) || typeof port.container !== 'number') return port
  return formatPort({ host: (port.host ?? port.container) as number, container: port.container, protocol: port.protocol === 'udp' ? 'udp' : 'tcp', hostIp: text(port.hostIp) ?? '' })
}

function volumeText(volume: unknown): unknown {
  if (!isObject(volume) || typeof volume.name !== 'string' || typeof volume.path !== 'string') return volume
  return formatVolume({ name: volume.name, path: volume.path, readOnly: Boolean(volume.readOnly), ...(volume.bind === true ? { bind: true } : {}) })
}

function service(raw: unknown): unknown {
  if (!isObject(raw)) return raw
  const out: Record<string, unknown> = {}
  for (const field of SERVICE_FIELDS) if (raw[field] !== undefined && raw[field] !== null) out[field] = raw[field]
  if (Array.isArray(out.ports)) out.ports = out.ports.map(portText)
  if (Array.isArray(out.volumes)) out.volumes = out.volumes.map(volumeText)
  // The normalised form carries resolved traefik flags and empty routes; only meaningful ones stay.
  if (out.route === '') delete out.route
  return out
}

/** The stack named by `stackName`, `name`, `stack` (a string) or `stackId`. */
export function stackNameOf(args: Args): string {
  const name = text(args.stackName) ?? text(args.name) ?? (typeof args.stack === 'string' ? text(args.stack) : undefined) ?? text(args.stackId)
  if (!name) throw new ThreshError({ code: 'bad_arguments', plugin: 'agent-commands', message: 'The command needs the stack name (stackName).' })
  return name
}

export function stackFromArguments(args: Args): { stack: StackDefinition; stackId: string } {
  const raw = isObject(args.stack) ? args.stack : isObject(args.definition) ? args.definition : args
  const name = text(raw.stackName) ?? text(raw.name) ?? text(args.stackName) ?? text(args.name)
  const services = Array.isArray(raw.services)
    ? raw.services.map(service)
    : isObject(raw.services)
      ? Object.fromEntries(Object.entries(raw.services).map(([key, value]) => [key, service(value)]))
      : raw.services
  const candidate: Record<string, unknown> = { name, services }
  if (raw.traefik !== undefined) candidate.traefik = raw.traefik
  if (raw.proxy !== undefined) candidate.proxy = raw.proxy
  for (const key of EXTRA_STACK_FIELDS) if (raw[key] !== undefined) candidate[key] = raw[key]
  const parsed = parseStack(candidate)
  if (!parsed.ok) {
    throw new ThreshError({
      code: 'stack_invalid',
      plugin: 'agent-commands',
      message: `The stack definition is invalid: ${parsed.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ')}`,
    })
  }
  return { stack: parsed.stack, stackId: text(args.stackId) ?? text(raw.stackId) ?? parsed.stack.name }
}
