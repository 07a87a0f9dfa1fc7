// Parses and validates a stack definition (either seed form) into a StackDefinition, reporting every
// problem at once with its path, so a bad stack is never deployed.
import { parseDuration } from '../../core/duration.ts'
import { findCycles } from './graph.ts'
import { locateJsonError } from './json-location.ts'
import { hostPortKey, parsePort, parseVolume } from './text-forms.ts'
import type { Healthcheck, ParseResult, PortMapping, StackDefinition, StackProblem, StackService, VolumeMount } from './types.ts'

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const IMAGE_REF = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const REFERENCE = /\$\{([^}.]+)\.(host|port)\}/g

const TOP_FIELDS = new Set(['name', 'services', 'traefik', 'targetNode', 'targetCluster', 'description', 'version'])
const SERVICE_FIELDS = new Set([
  'name', 'image', 'ports', 'volumes', 'env', 'environment', 'depends_on', 'dependsOn', 'traefik', 'route',
  'command', 'healthcheck', 'preferNode', 'requireGpu', 'description',
])

/**
 * Parses a stack definition from JSON text or an already-parsed object, in either seed form
 * (`services` as a map or an array), and validates it completely.
 * @example
 * const result = parseStack(await readFile('webapp.json', 'utf8'))
 * if (!result.ok) for (const e of result.errors) console.error(`${e.path}: ${e.message}`)
 */
export function parseStack(input: string | unknown): ParseResult {
  let raw: unknown = input
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input)
    } catch (error) {
      const where = locateJsonError(input)
      const message = where
        ? `Invalid JSON at line ${where.line}, column ${where.column}: ${where.message}`
        : `Invalid JSON: ${(error as Error).message}`
      return { ok: false, errors: [{ path: '', message }] }
    }
  }
  const errors: StackProblem[] = []
  const stack = validate(raw, errors)
  return errors.length === 0 && stack ? { ok: true, stack } : { ok: false, errors }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function validate(raw: unknown, errors: StackProblem[]): StackDefinition | undefined {
  const problem = (path: string, message: string) => errors.push({ path, message })
  if (!isObject(raw)) {
    problem('', 'A stack definition must be a JSON object')
    return undefined
  }
  for (const key of Object.keys(raw)) if (!TOP_FIELDS.has(key)) problem(key, `Unknown field "${key}"`)

  const name = raw.name
  if (typeof name !== 'string' || name === '') problem('name', 'The stack needs a name')
  else if (!DNS_LABEL.test(name)) {
    problem('name', `Stack name "${name}" must be a DNS label: lowercase letters, digits and '-', at most 63 characters`)
  }

  const topTraefik = optionalBoolean(raw.traefik, 'traefik', problem) ?? false
  const targetNode = optionalString(raw.targetNode, 'targetNode', problem)
  const targetCluster = optionalString(raw.targetCluster, 'targetCluster', problem)
  if (targetNode !== undefined && targetCluster !== undefined) {
    problem('targetCluster', 'Set either targetNode or targetCluster, not both')
  }

  // Collect [path, raw service, name] in either form.
  const entries: Array<{ path: string; raw: unknown; name: string | undefined; namePath: string }> = []
  const services = raw.services
  if (services === undefined) problem('services', 'The stack needs services')
  else if (Array.isArray(services)) {
    services.forEach((svc, i) => {
      const path = `services[${i}]`
      const n = isObject(svc) ? svc.name : undefined
      if (isObject(svc) && (typeof n !== 'string' || n === '')) problem(`${path}.name`, 'Each service in a list needs a name')
      entries.push({ path, raw: svc, name: typeof n === 'string' && n !== '' ? n : undefined, namePath: `${path}.name` })
    })
  } else if (isObject(services)) {
    for (const [key, svc] of Object.entries(services)) {
      const path = `services.${key}`
      if (isObject(svc) && svc.name !== undefined && svc.name !== key) {
        problem(`${path}.name`, `The name "${String(svc.name)}" differs from its key "${key}"`)
      }
      entries.push({ path, raw: svc, name: key, namePath: path })
    }
  } else problem('services', 'services must be a map of name to service, or a list of services with names')
  if ((Array.isArray(services) || isObject(services)) && entries.length === 0) {
    problem('services', 'The stack needs at least one service')
  }

  const firstPathOf = new Map<string, string>()
  for (const entry of entries) {
    if (entry.name === undefined) continue
    if (!DNS_LABEL.test(entry.name)) {
      problem(entry.namePath, `Service name "${entry.name}" must be a DNS label: lowercase letters, digits and '-'`)
    }
    const first = firstPathOf.get(entry.name)
    if (first !== undefined) problem(entry.namePath, `Duplicate service "${entry.name}" (also at ${first})`)
    else firstPathOf.set(entry.name, entry.path)
  }

  const parsed: Array<{ service: StackService; path: string; depPaths: string[]; portPaths: string[] }> = []
  for (const entry of entries) {
    if (!isObject(entry.raw)) {
      problem(entry.path, 'A service must be an object')
      continue
    }
    const result = parseService(entry.raw, entry.path, entry.name ?? '', topTraefik, problem)
    if (entry.name !== undefined && firstPathOf.get(entry.name) === entry.path) parsed.push({ ...result, path: entry.path })
  }

  const byName = new Map(parsed.map((p) => [p.service.name, p]))

  // Dependencies name known services.
  for (const { service, depPaths } of parsed) {
    service.dependsOn.forEach((dep, i) => {
      if (!byName.has(dep) && firstPathOf.get(dep) === undefined) problem(depPaths[i]!, `Unknown service "${dep}" in depends_on`)
    })
  }

  // A host port can be published once per node.
  const hostPorts = new Map<string, string>()
  for (const { service, portPaths } of parsed) {
    service.ports.forEach((port, i) => {
      const key = hostPortKey(port)
      const here = portPaths[i]!
      const first = hostPorts.get(key)
      if (first !== undefined) problem(here, `Host port ${port.host} is already published by ${first}`)
      else hostPorts.set(key, here)
    })
  }

  // ${svc.host} and ${svc.port} must name a service that exposes a port.
  for (const { service, path } of parsed) {
    for (const [key, value] of Object.entries(service.env)) {
      for (const match of value.matchAll(REFERENCE)) {
        const target = byName.get(match[1]!)
        const where = `${path}.env.${key}`
        if (!target) problem(where, `${match[0]} names an unknown service "${match[1]}"`)
        else if (target.service.ports.length === 0) {
          problem(where, `${match[0]} names service "${match[1]}", which publishes no ports`)
        }
      }
    }
  }

  const names = parsed.map((p) => p.service.name)
  const edges = new Map(parsed.map((p) => [p.service.name, p.service.dependsOn]))
  for (const cycle of findCycles(names, edges)) {
    problem(`${byName.get(cycle[0]!)!.path}.depends_on`, `Circular dependency detected: ${cycle.join(' → ')}`)
  }

  if (errors.length > 0 || typeof name !== 'string') return undefined
  const stackServices = parsed.map((p) => p.service)
  return {
    name,
    services: stackServices,
    traefik: topTraefik || stackServices.some((s) => s.traefik),
    ...(targetNode !== undefined ? { targetNode } : {}),
    ...(targetCluster !== undefined ? { targetCluster } : {}),
  }
}

type Problem = (path: string, message: string) => void

function parseService(
  raw: Record<string, unknown>,
  path: string,
  name: string,
  stackTraefik: boolean,
  problem: Problem,
): { service: StackService; depPaths: string[]; portPaths: string[] } {
  for (const key of Object.keys(raw)) if (!SERVICE_FIELDS.has(key)) problem(`${path}.${key}`, `Unknown field "${key}"`)

  let image = ''
  if (typeof raw.image !== 'string' || raw.image.trim() === '') problem(`${path}.image`, 'The service needs an image')
  else {
    image = raw.image.startsWith('docker:') ? raw.image.slice('docker:'.length) : raw.image
    if (!IMAGE_REF.test(image)) problem(`${path}.image`, `"${raw.image}" is not a valid image reference`)
  }

  const ports: PortMapping[] = []
  const portPaths: string[] = []
  listOf(raw.ports, `${path}.ports`, 'ports must be a list of "host:container" strings', problem).forEach((value, i) => {
    const port = parsePort(value)
    if (typeof port === 'string') problem(`${path}.ports[${i}]`, port)
    else {
      ports.push(port)
      portPaths.push(`${path}.ports[${i}]`)
    }
  })

  const volumes: VolumeMount[] = []
  listOf(raw.volumes, `${path}.volumes`, 'volumes must be a list of "name:/path" strings', problem).forEach((value, i) => {
    const volume = parseVolume(value)
    if (typeof volume === 'string') problem(`${path}.volumes[${i}]`, volume)
    else volumes.push(volume)
  })

  const env: Record<string, string> = {}
  const envKey = raw.env !== undefined ? 'env' : 'environment'
  const rawEnv = raw[envKey]
  if (Array.isArray(rawEnv)) {
    rawEnv.forEach((item, i) => {
      const eq = typeof item === 'string' ? item.indexOf('=') : -1
      if (typeof item !== 'string' || eq <= 0) problem(`${path}.${envKey}[${i}]`, 'Expected "NAME=value"')
      else env[item.slice(0, eq)] = item.slice(eq + 1)
    })
  } else if (isObject(rawEnv)) {
    for (const [key, value] of Object.entries(rawEnv)) {
      if (!ENV_NAME.test(key)) problem(`${path}.${envKey}.${key}`, `"${key}" is not a valid environment variable name`)
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[key] = String(value)
      else problem(`${path}.${envKey}.${key}`, 'An environment value must be a string, number or boolean')
    }
  } else if (rawEnv !== undefined) problem(`${path}.${envKey}`, 'env must be an object of NAME: value')

  const dependsOn: string[] = []
  const depPaths: string[] = []
  for (const key of ['depends_on', 'dependsOn'] as const) {
    if (raw[key] === undefined) continue
    if (!Array.isArray(raw[key])) {
      problem(`${path}.${key}`, `${key} must be a list of service names`)
      continue
    }
    ;(raw[key] as unknown[]).forEach((dep, i) => {
      if (typeof dep !== 'string' || dep === '') problem(`${path}.${key}[${i}]`, `${key} entries must be service names`)
      else if (!dependsOn.includes(dep)) {
        dependsOn.push(dep)
        depPaths.push(`${path}.${key}[${i}]`)
      }
    })
  }

  const traefik = optionalBoolean(raw.traefik, `${path}.traefik`, problem)
  const route = optionalString(raw.route, `${path}.route`, problem)

  let command: string[] | undefined
  if (typeof raw.command === 'string') command = ['/bin/sh', '-c', raw.command]
  else if (Array.isArray(raw.command) && raw.command.every((c) => typeof c === 'string')) command = raw.command as string[]
  else if (raw.command !== undefined) problem(`${path}.command`, 'command must be a string or a list of strings')

  const healthcheck = raw.healthcheck === undefined ? undefined : parseHealthcheck(raw.healthcheck, `${path}.healthcheck`, problem)

  const service: StackService = {
    name,
    image,
    ports,
    volumes,
    env,
    dependsOn,
    traefik: traefik ?? (stackTraefik && ports.length > 0),
    ...(route !== undefined ? { route } : {}),
    ...(command ? { command } : {}),
    ...(healthcheck ? { healthcheck } : {}),
  }
  return { service, depPaths, portPaths }
}

function listOf(value: unknown, path: string, message: string, problem: Problem): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) {
    problem(path, message)
    return []
  }
  return value
}

function optionalBoolean(value: unknown, path: string, problem: Problem): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  problem(path, `${path.split('.').pop()} must be true or false`)
  return undefined
}

function optionalString(value: unknown, path: string, problem: Problem): string | undefined {
  if (value === undefined || (typeof value === 'string' && value !== '')) return value as string | undefined
  problem(path, `${path.split('.').pop()} must be a non-empty string`)
  return undefined
}

function parseHealthcheck(raw: unknown, path: string, problem: Problem): Healthcheck | undefined {
  if (!isObject(raw)) {
    problem(path, 'healthcheck must be an object with a test')
    return undefined
  }
  let test: string[] | undefined
  if (typeof raw.test === 'string' && raw.test !== '') test = ['CMD-SHELL', raw.test]
  else if (Array.isArray(raw.test) && raw.test.length > 0 && raw.test.every((t) => typeof t === 'string')) {
    const list = raw.test as string[]
    test = list[0] === 'CMD' || list[0] === 'CMD-SHELL' ? list : ['CMD', ...list]
  } else problem(`${path}.test`, 'test must be a command string or a list of strings')
  const duration = (key: string, fallback: number) => {
    const value = raw[key] ?? raw[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]
    if (value === undefined) return fallback
    const ms = parseDuration(value)
    if (ms === undefined) problem(`${path}.${key}`, `"${String(value)}" is not a duration like "2s" or "500ms"`)
    return ms ?? fallback
  }
  const intervalMs = duration('interval', 5000)
  const timeoutMs = duration('timeout', 5000)
  const startPeriodMs = duration('startPeriod', 0)
  let retries = 3
  if (raw.retries !== undefined) {
    if (typeof raw.retries === 'number' && Number.isInteger(raw.retries) && raw.retries >= 0) retries = raw.retries
    else problem(`${path}.retries`, 'retries must be a whole number')
  }
  return test ? { test, intervalMs, timeoutMs, retries, startPeriodMs } : undefined
}
