// Parses and validates a stack definition (either seed form) into a StackDefinition, reporting every
// problem at once with its path, so a bad stack is never deployed.
import { parseDuration } from '../../core/duration.ts'
import { findCycles } from './graph.ts'
import { childPath, clip, controlCharacterProblem, PROTOTYPE_KEYS, scanJson } from './json-guard.ts'
import { locateJsonError } from './json-location.ts'
import { hostPortKey, parsePort, parseVolume } from './text-forms.ts'
import { checkReferences, EXTRA_SERVICE_FIELDS, EXTRA_STACK_FIELDS, parseDependencies, parseServiceExtras, parseStackExtras } from './service-extras.ts'
import type { DependencyCondition, Healthcheck, ParseResult, PortMapping, StackDefinition, StackProblem, StackService, VolumeMount } from './types.ts'
import { PROXY_KINDS, type ProxyKind } from './proxy-contract.ts'

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const IMAGE_REF = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const REFERENCE = /\$\{([^}.]+)\.(host|port)\}/g

const TOP_FIELDS = new Set(['name', 'services', 'traefik', 'proxy', 'targetNode', 'targetCluster', 'description', 'version', ...EXTRA_STACK_FIELDS])
const SERVICE_FIELDS = new Set([
  'name', 'image', 'ports', 'volumes', 'env', 'environment', 'depends_on', 'dependsOn', 'traefik', 'route',
  'command', 'healthcheck', 'preferNode', 'requireGpu', 'description', ...EXTRA_SERVICE_FIELDS,
])

/**
 * How large a stack may be. Far above what a node runs, low enough that no definition can make the
 * hub, the CLI or the dashboard do unbounded work or answer with an unbounded list of problems.
 */
export const STACK_LIMITS: { services: number; ports: number; volumes: number; env: number; dependsOn: number; command: number; problems: number } = {
  services: 200,
  ports: 100,
  volumes: 100,
  env: 500,
  dependsOn: 200,
  command: 500,
  problems: 50,
}

// User keys become object keys only through here: prototype names are refused (by scanJson) and skipped.
const entriesOf = (record: Record<string, unknown>) => Object.entries(record).filter(([key]) => !PROTOTYPE_KEYS.has(key))

/** `a → b → c → a`, with the middle of a long ring left out so the message stays short. */
function describeCycle(cycle: readonly string[]): string {
  if (cycle.length <= 12) return cycle.join(' → ')
  return [...cycle.slice(0, 5), `… ${cycle.length - 10} more …`, ...cycle.slice(-5)].join(' → ')
}

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
  if (errors.length === 0 && stack) return { ok: true, stack }
  if (errors.length > STACK_LIMITS.problems) {
    const more = errors.length - STACK_LIMITS.problems
    errors.splice(STACK_LIMITS.problems, more, { path: '', message: `… and ${more} more problem${more === 1 ? '' : 's'}` })
  }
  return { ok: false, errors }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function validate(raw: unknown, errors: StackProblem[]): StackDefinition | undefined {
  // What the JSON itself breaks (depth, prototype keys, control characters) is said once per path.
  const scanned = scanJson(raw, { maxProblems: STACK_LIMITS.problems })
  errors.push(...scanned)
  if (scanned.some((p) => p.message.startsWith('Nesting'))) return undefined
  const flagged = new Set(scanned.map((p) => p.path))
  const problem = (path: string, message: string) => {
    if (!flagged.has(path)) errors.push({ path, message })
  }
  if (!isObject(raw)) {
    problem('', 'A stack definition must be a JSON object')
    return undefined
  }
  for (const [key] of entriesOf(raw)) if (!TOP_FIELDS.has(key)) problem(childPath('', key), `Unknown field "${clip(key)}"`)

  const name = raw.name
  if (typeof name !== 'string' || name === '') problem('name', 'The stack needs a name')
  else if (!DNS_LABEL.test(name)) {
    problem('name', `Stack name "${clip(name)}" must be a DNS label: lowercase letters, digits and '-', at most 63 characters`)
  }

  const proxy = proxyChoice(raw.proxy, raw.traefik, problem)
  const topTraefik = (optionalBoolean(raw.traefik, 'traefik', problem) ?? false) || proxy !== undefined
  const stackExtras = parseStackExtras(raw, problem)
  const targetNode = optionalString(raw.targetNode, 'targetNode', problem, 253)
  const targetCluster = optionalString(raw.targetCluster, 'targetCluster', problem, 253)
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
    for (const [key, svc] of entriesOf(services)) {
      const path = childPath('services', key)
      if (isObject(svc) && svc.name !== undefined && svc.name !== key) {
        problem(`${path}.name`, `The name "${clip(String(svc.name))}" differs from its key "${clip(key)}"`)
      }
      entries.push({ path, raw: svc, name: key, namePath: path })
    }
  } else problem('services', 'services must be a map of name to service, or a list of services with names')
  if ((Array.isArray(services) || isObject(services)) && entries.length === 0) {
    problem('services', 'The stack needs at least one service')
  }
  if (entries.length > STACK_LIMITS.services) {
    problem('services', `A stack has at most ${STACK_LIMITS.services} services; this one has ${entries.length}`)
  }

  const firstPathOf = new Map<string, string>()
  for (const entry of entries) {
    if (entry.name === undefined) continue
    if (!DNS_LABEL.test(entry.name)) {
      problem(entry.namePath, `Service name "${clip(entry.name)}" must be a DNS label: lowercase letters, digits and '-'`)
    }
    const first = firstPathOf.get(entry.name)
    if (first !== undefined) problem(entry.namePath, `Duplicate service "${clip(entry.name)}" (also at ${first})`)
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
      if (!byName.has(dep) && firstPathOf.get(dep) === undefined) problem(depPaths[i]!, `Unknown service "${clip(dep)}" in depends_on`)
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
        const where = childPath(`${path}.env`, key)
        if (!target) problem(where, `${clip(match[0])} names an unknown service "${clip(match[1]!)}"`)
        else if (target.service.ports.length === 0) {
          problem(where, `${match[0]} names service "${match[1]}", which publishes no ports`)
        }
      }
    }
  }

  // Waiting for health needs a healthcheck; waiting for completion needs a dependency that may exit.
  for (const { service, path } of parsed) {
    for (const [dep, condition] of Object.entries(service.dependsOnConditions ?? {})) {
      const target = byName.get(dep)?.service
      if (condition === 'service_healthy' && target && (!target.healthcheck || target.healthcheck.test[0] === 'NONE')) {
        problem(childPath(`${path}.depends_on`, dep), `${dep} has no healthcheck, so ${service.name} cannot wait for it to be healthy`)
      }
    }
  }
  checkReferences(stackExtras, parsed, problem)

  const names = parsed.map((p) => p.service.name)
  const edges = new Map(parsed.map((p) => [p.service.name, p.service.dependsOn]))
  for (const cycle of findCycles(names, edges)) {
    problem(`${byName.get(cycle[0]!)!.path}.depends_on`, `Circular dependency detected: ${describeCycle(cycle)}`)
  }

  if (errors.length > 0 || typeof name !== 'string') return undefined
  const stackServices = parsed.map((p) => p.service)
  return {
    name,
    services: stackServices,
    traefik: topTraefik || stackServices.some((s) => s.traefik),
    ...(proxy !== undefined ? { proxy } : {}),
    ...(targetNode !== undefined ? { targetNode } : {}),
    ...(targetCluster !== undefined ? { targetCluster } : {}),
    ...stackExtras,
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
  for (const [key] of entriesOf(raw)) if (!SERVICE_FIELDS.has(key)) problem(childPath(path, key), `Unknown field "${clip(key)}"`)

  let image = ''
  if (typeof raw.image !== 'string' || raw.image.trim() === '') problem(`${path}.image`, 'The service needs an image')
  else {
    image = raw.image.startsWith('docker:') ? raw.image.slice('docker:'.length) : raw.image
    if (!IMAGE_REF.test(image) || image.length > 500) problem(`${path}.image`, `"${clip(raw.image)}" is not a valid image reference`)
  }
  const atMost = (list: unknown[], where: string, limit: number, what: string) => {
    if (list.length > limit) problem(where, `A service has at most ${limit} ${what}; this one has ${list.length}`)
    return list
  }

  const ports: PortMapping[] = []
  const portPaths: string[] = []
  atMost(listOf(raw.ports, `${path}.ports`, 'ports must be a list of "host:container" strings', problem), `${path}.ports`, STACK_LIMITS.ports, 'ports').forEach((value, i) => {
    const port = parsePort(value)
    if (typeof port === 'string') problem(`${path}.ports[${i}]`, port)
    else {
      ports.push(port)
      portPaths.push(`${path}.ports[${i}]`)
    }
  })

  const volumes: VolumeMount[] = []
  atMost(listOf(raw.volumes, `${path}.volumes`, 'volumes must be a list of "name:/path" strings', problem), `${path}.volumes`, STACK_LIMITS.volumes, 'volumes').forEach((value, i) => {
    const volume = parseVolume(value)
    if (typeof volume === 'string') problem(`${path}.volumes[${i}]`, volume)
    else volumes.push(volume)
  })

  // No prototype: a variable named like one of Object's members is just a variable.
  const env: Record<string, string> = Object.create(null)
  const envKey = raw.env !== undefined ? 'env' : 'environment'
  const rawEnv = raw[envKey]
  if (Array.isArray(rawEnv)) {
    atMost(rawEnv, `${path}.${envKey}`, STACK_LIMITS.env, 'environment variables')
    rawEnv.forEach((item, i) => {
      const eq = typeof item === 'string' ? item.indexOf('=') : -1
      const key = eq > 0 ? (item as string).slice(0, eq) : ''
      if (typeof item !== 'string' || eq <= 0) problem(`${path}.${envKey}[${i}]`, 'Expected "NAME=value"')
      else if (!ENV_NAME.test(key) || PROTOTYPE_KEYS.has(key)) problem(`${path}.${envKey}[${i}]`, `"${clip(key)}" is not a valid environment variable name`)
      else env[key] = item.slice(eq + 1)
    })
  } else if (isObject(rawEnv)) {
    const entries = entriesOf(rawEnv)
    atMost(entries, `${path}.${envKey}`, STACK_LIMITS.env, 'environment variables')
    for (const [key, value] of entries) {
      const where = childPath(`${path}.${envKey}`, key)
      if (!ENV_NAME.test(key)) problem(where, `"${clip(key)}" is not a valid environment variable name`)
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[key] = String(value)
      else problem(where, 'An environment value must be a string, number or boolean')
    }
  } else if (rawEnv !== undefined) problem(`${path}.${envKey}`, 'env must be an object of NAME: value')

  const dependsOn: string[] = []
  const depPaths: string[] = []
  const dependsOnConditions: Record<string, DependencyCondition> = Object.create(null)
  for (const key of ['depends_on', 'dependsOn'] as const) {
    if (raw[key] === undefined) continue
    const deps = parseDependencies(raw[key], `${path}.${key}`, key, problem)
    atMost(deps.names, `${path}.${key}`, STACK_LIMITS.dependsOn, 'dependencies')
    deps.names.forEach((dep, i) => {
      if (dependsOn.includes(dep)) return
      dependsOn.push(dep)
      depPaths.push(deps.paths[i]!)
      if (deps.conditions[dep]) dependsOnConditions[dep] = deps.conditions[dep]
    })
  }
  const extras = parseServiceExtras(raw, path, problem)

  const traefik = optionalBoolean(raw.traefik, `${path}.traefik`, problem)
  const route = optionalString(raw.route, `${path}.route`, problem, 1000)

  let command: string[] | undefined
  if (typeof raw.command === 'string') command = ['/bin/sh', '-c', raw.command]
  else if (Array.isArray(raw.command) && raw.command.every((c) => typeof c === 'string')) {
    command = atMost(raw.command, `${path}.command`, STACK_LIMITS.command, 'command arguments') as string[]
  } else if (raw.command !== undefined) problem(`${path}.command`, 'command must be a string or a list of strings')

  const healthcheck = raw.healthcheck === undefined ? undefined : parseHealthcheck(raw.healthcheck, `${path}.healthcheck`, problem)

  const service: StackService = {
    name,
    image,
    ports,
    volumes,
    env,
    dependsOn,
    // Under a top-level proxy, a service with a port (published or only exposed) is routed unless it says no.
    traefik: traefik ?? (stackTraefik && (ports.length > 0 || (extras.expose?.length ?? 0) > 0)),
    ...(route !== undefined ? { route } : {}),
    ...(command ? { command } : {}),
    ...(healthcheck ? { healthcheck } : {}),
    ...(Object.keys(dependsOnConditions).length > 0 ? { dependsOnConditions: { ...dependsOnConditions } } : {}),
    ...extras,
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

/** `proxy: caddy|traefik` names the proxy, `proxy: true` takes the node's default; with `traefik: true` only Traefik fits. */
function proxyChoice(value: unknown, traefik: unknown, problem: Problem): ProxyKind | 'default' | undefined {
  if (value === undefined || value === false) return undefined
  const choice = value === true ? 'default' : value
  if (choice !== 'default' && !PROXY_KINDS.includes(choice as ProxyKind)) {
    problem('proxy', `proxy must be ${PROXY_KINDS.join(' or ')} (or true for the node's default proxy)`)
    return undefined
  }
  if (traefik === true && choice !== 'traefik') problem('proxy', `traefik: true routes through Traefik; drop it to use proxy: ${String(value)}`)
  return choice as ProxyKind | 'default'
}

function optionalBoolean(value: unknown, path: string, problem: Problem): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  problem(path, `${path.split('.').pop()} must be true or false`)
  return undefined
}

/** A one-line setting (a route rule, a node or cluster name): no control characters, at most `max` long. */
function optionalString(value: unknown, path: string, problem: Problem, max: number): string | undefined {
  const field = path.split('.').pop()
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') problem(path, `${field} must be a non-empty string`)
  else if (value.length > max) problem(path, `${field} must be at most ${max} characters`)
  else {
    const control = controlCharacterProblem(value)
    if (!control) return value
    problem(path, `${field} ${control}`)
  }
  return undefined
}

function parseHealthcheck(raw: unknown, path: string, problem: Problem): Healthcheck | undefined {
  if (!isObject(raw)) {
    problem(path, 'healthcheck must be an object with a test')
    return undefined
  }
  const off = { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 }
  if (raw.disable === true) return off
  let test: string[] | undefined
  if (Array.isArray(raw.test) && raw.test[0] === 'NONE') return off
  if (typeof raw.test === 'string' && raw.test !== '') test = ['CMD-SHELL', raw.test]
  else if (Array.isArray(raw.test) && raw.test.length > 0 && raw.test.every((t) => typeof t === 'string')) {
    const list = raw.test as string[]
    test = list[0] === 'CMD' || list[0] === 'CMD-SHELL' ? list : ['CMD', ...list]
  } else problem(`${path}.test`, 'test must be a command string or a list of strings')
  const duration = (key: string, fallback: number) => {
    const value = raw[key] ?? raw[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]
    if (value === undefined) return fallback
    const ms = parseDuration(value)
    if (ms === undefined) problem(`${path}.${key}`, `"${clip(String(value))}" is not a duration like "2s" or "500ms"`)
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
