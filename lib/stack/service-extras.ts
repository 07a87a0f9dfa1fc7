// The container settings a stack service may carry beyond image, ports, volumes, env and command
// (restart, user, capabilities, limits, networks, secrets, …): read, checked and normalised here so
// that parse.ts stays about the stack's shape. Browser-safe: the dashboard's validator loads it.
import { parseDuration } from '../../core/duration.ts'
import { childPath, clip, controlCharacterProblem, MAX_STRING_LENGTH, PROTOTYPE_KEYS } from './json-guard.ts'
import type { DependencyCondition, FileMount, ResourceLimits, StackFile, StackService } from './types.ts'

type Problem = (path: string, message: string) => void
type Raw = Record<string, unknown>

export const EXTRA_SERVICE_FIELDS = [
  'expose', 'restart', 'entrypoint', 'user', 'workingDir', 'hostname', 'containerName', 'labels', 'capAdd', 'capDrop',
  'stopSignal', 'stopGracePeriod', 'resources', 'sysctls', 'networks', 'secrets', 'configs',
] as const

export const EXTRA_STACK_FIELDS = ['networks', 'secrets', 'configs'] as const

export const DEPENDENCY_CONDITIONS: readonly DependencyCondition[] = ['service_started', 'service_healthy', 'service_completed_successfully']

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/
const RESTART = /^(no|always|unless-stopped|on-failure(:\d{1,4})?)$/
const CAPABILITY = /^(CAP_)?[A-Z_]{2,32}$|^ALL$/
const SIGNAL = /^(SIG[A-Z0-9]{2,8}|\d{1,2})$/
const SYSCTL = /^[a-z0-9_.\-/]{1,128}$/
const USER = /^[a-zA-Z0-9_.-]{1,64}(:[a-zA-Z0-9_.-]{1,64})?$/
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,251}[a-zA-Z0-9])?$/
/** A container port 1-65535 (no leading zero), optionally with its protocol. */
const EXPOSE = /^([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])(\/(tcp|udp))?$/
/** Most a secret's or config's content may hold: the limit every text of a definition has. */
export const MAX_FILE_BYTES = MAX_STRING_LENGTH

const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value)
const entriesOf = (record: Raw) => Object.entries(record).filter(([key]) => !PROTOTYPE_KEYS.has(key))

/** Memory as Compose writes it (`512m`, `1g`, `1.5gb`, bytes as a number) in bytes, or undefined. */
export function parseBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(value.trim())
  if (!match) return undefined
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
  const bytes = Math.round(Number(match[1]) * scale)
  return bytes > 0 ? bytes : undefined
}

function text(value: unknown, path: string, problem: Problem, pattern: RegExp, what: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' && typeof value !== 'number') {
    problem(path, `${path.split('.').pop()} must be a string`)
    return undefined
  }
  const s = String(value)
  if (!pattern.test(s)) {
    problem(path, `"${clip(s)}" is not ${what}`)
    return undefined
  }
  return s
}

function stringList(value: unknown, path: string, problem: Problem, pattern: RegExp, what: string, max = 100): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length > max) {
    problem(path, `${path.split('.').pop()} must be a list of at most ${max} ${what}s`)
    return undefined
  }
  const out: string[] = []
  value.forEach((item, i) => {
    const s = text(item, `${path}[${i}]`, problem, pattern, `a valid ${what}`)
    if (s !== undefined) out.push(s)
  })
  return out
}

/** A map of string keys to string values (labels, sysctls); numbers and booleans become text. */
function stringMap(value: unknown, path: string, problem: Problem, key: RegExp, what: string): Record<string, string> | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) {
    problem(path, `${path.split('.').pop()} must be a map of name to value`)
    return undefined
  }
  const out: Record<string, string> = Object.create(null)
  const entries = entriesOf(value)
  if (entries.length > 200) problem(path, `${path.split('.').pop()} holds at most 200 entries`)
  for (const [k, v] of entries.slice(0, 200)) {
    const where = childPath(path, k)
    if (!key.test(k)) problem(where, `"${clip(k)}" is not a valid ${what}`)
    else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') problem(where, 'The value must be a string, number or boolean')
    else {
      const control = controlCharacterProblem(String(v), true)
      if (control) problem(where, `The value ${control}`)
      else out[k] = String(v)
    }
  }
  return out
}

/** A command-like list (`entrypoint`): a string runs through /bin/sh -c, as `command` does. */
function argv(value: unknown, path: string, problem: Problem): string[] | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return ['/bin/sh', '-c', value]
  if (Array.isArray(value) && value.length <= 500 && value.every((c) => typeof c === 'string')) return value as string[]
  problem(path, `${path.split('.').pop()} must be a string or a list of strings`)
  return undefined
}

function fileMounts(value: unknown, path: string, problem: Problem, defaultTarget: (name: string) => string): FileMount[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) {
    problem(path, `${path.split('.').pop()} must be a list of names or {source, target, mode}`)
    return undefined
  }
  const out: FileMount[] = []
  value.forEach((item, i) => {
    const where = `${path}[${i}]`
    const source = typeof item === 'string' ? item : isObject(item) ? item.source : undefined
    if (typeof source !== 'string' || !NAME.test(source)) {
      problem(where, `Expected the name of one of the stack's ${path.split('.').pop()}`)
      return
    }
    const rawTarget = isObject(item) ? item.target : undefined
    let target = defaultTarget(source)
    if (rawTarget !== undefined) {
      if (typeof rawTarget !== 'string' || rawTarget === '' || controlCharacterProblem(rawTarget) || rawTarget.split('/').includes('..')) {
        problem(`${where}.target`, 'target must be a file name or an absolute path without ".."')
        return
      }
      target = rawTarget.startsWith('/') ? rawTarget : defaultTarget(rawTarget)
    }
    const mode = isObject(item) ? item.mode : undefined
    if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
      problem(`${where}.mode`, 'mode must be permission bits from 0 to 0777 (as a number)')
      return
    }
    out.push({ source, target, ...(typeof mode === 'number' ? { mode } : {}) })
  })
  return out
}

function resources(value: unknown, path: string, problem: Problem): ResourceLimits | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) {
    problem(path, 'resources must be an object with memory, cpus and pids')
    return undefined
  }
  const out: ResourceLimits = {}
  for (const [key] of entriesOf(value)) if (!['memory', 'cpus', 'pids', 'shm'].includes(key)) problem(childPath(path, key), `Unknown field "${clip(key)}" (use memory, cpus, pids or shm)`)
  if (value.shm !== undefined) {
    const bytes = parseBytes(value.shm)
    if (bytes === undefined) problem(`${path}.shm`, `"${clip(String(value.shm))}" is not a size like "128m"`)
    else out.shmBytes = bytes
  }
  if (value.memory !== undefined) {
    const bytes = parseBytes(value.memory)
    if (bytes === undefined || bytes < 6 * 1024 * 1024) problem(`${path}.memory`, `"${clip(String(value.memory))}" is not a memory size of at least 6m (like "512m" or "1g")`)
    else out.memoryBytes = bytes
  }
  if (value.cpus !== undefined) {
    const cpus = Number(value.cpus)
    if (!Number.isFinite(cpus) || cpus <= 0 || cpus > 1024) problem(`${path}.cpus`, `"${clip(String(value.cpus))}" is not a number of CPUs like 0.5 or 2`)
    else out.nanoCpus = Math.round(cpus * 1e9)
  }
  if (value.pids !== undefined) {
    if (typeof value.pids !== 'number' || !Number.isInteger(value.pids) || value.pids < 1) problem(`${path}.pids`, 'pids must be a whole number above 0')
    else out.pids = value.pids
  }
  return out
}

function networks(value: unknown, path: string, problem: Problem): Record<string, { aliases: string[] }> | undefined {
  if (value === undefined) return undefined
  const out: Record<string, { aliases: string[] }> = Object.create(null)
  if (Array.isArray(value)) {
    value.forEach((n, i) => {
      if (typeof n !== 'string' || !NAME.test(n)) problem(`${path}[${i}]`, 'Expected a network name')
      else out[n] = { aliases: [] }
    })
    return out
  }
  if (!isObject(value)) {
    problem(path, 'networks must be a list of network names or a map of name to {aliases}')
    return undefined
  }
  for (const [name, settings] of entriesOf(value)) {
    const where = childPath(path, name)
    if (!NAME.test(name)) {
      problem(where, `"${clip(name)}" is not a valid network name`)
      continue
    }
    if (settings !== null && settings !== undefined && !isObject(settings)) {
      problem(where, 'Expected {aliases: [...]} or nothing')
      continue
    }
    for (const [key] of entriesOf(settings ?? {})) if (key !== 'aliases') problem(childPath(where, key), `Unknown field "${clip(key)}" (only aliases is supported)`)
    const aliases = stringList(settings?.aliases, `${where}.aliases`, problem, HOSTNAME, 'host name') ?? []
    out[name] = { aliases }
  }
  return out
}

/**
 * `dependsOn` / `depends_on` as a list of names or a map of name to `{condition}`: the names, with
 * their paths for unknown-service errors, and the conditions other than service_started.
 */
export function parseDependencies(value: unknown, path: string, key: string, problem: Problem): { names: string[]; paths: string[]; conditions: Record<string, DependencyCondition> } {
  const names: string[] = []
  const paths: string[] = []
  const conditions: Record<string, DependencyCondition> = Object.create(null)
  if (Array.isArray(value)) {
    value.forEach((dep, i) => {
      if (typeof dep !== 'string' || dep === '') problem(`${path}[${i}]`, `${key} entries must be service names`)
      else if (!names.includes(dep)) {
        names.push(dep)
        paths.push(`${path}[${i}]`)
      }
    })
  } else if (isObject(value)) {
    for (const [dep, settings] of entriesOf(value)) {
      const where = childPath(path, dep)
      const condition = isObject(settings) ? (settings.condition ?? 'service_started') : settings === null ? 'service_started' : undefined
      if (!DEPENDENCY_CONDITIONS.includes(condition as DependencyCondition)) {
        problem(isObject(settings) ? `${where}.condition` : where, `condition must be one of ${DEPENDENCY_CONDITIONS.join(', ')}`)
        continue
      }
      names.push(dep)
      paths.push(where)
      if (condition !== 'service_started') conditions[dep] = condition as DependencyCondition
    }
  } else problem(path, `${key} must be a list of service names, or a map of name to {condition}`)
  return { names, paths, conditions }
}

/** The optional container settings of one service; only those present appear in the result. */
export function parseServiceExtras(raw: Raw, path: string, problem: Problem): Partial<StackService> {
  const at = (key: string) => `${path}.${key}`
  const out: Partial<StackService> = {}
  const set = <K extends keyof StackService>(key: K, value: StackService[K] | undefined) => {
    if (value !== undefined) out[key] = value
  }
  const expose = stringList(raw.expose, at('expose'), problem, EXPOSE, 'container port like "80" or "53/udp"')
  set('expose', expose?.map((e) => (e.includes('/') ? e : `${e}/tcp`)))
  set('restart', text(raw.restart, at('restart'), problem, RESTART, 'a restart policy: no, always, unless-stopped or on-failure[:N]'))
  set('entrypoint', argv(raw.entrypoint, at('entrypoint'), problem))
  set('user', text(raw.user, at('user'), problem, USER, 'a user like "1000", "1000:1000" or "www-data"'))
  set('workingDir', text(raw.workingDir, at('workingDir'), problem, /^\/[^\u0000-\u001f]{0,1000}$/, 'an absolute path'))
  set('hostname', text(raw.hostname, at('hostname'), problem, HOSTNAME, 'a host name'))
  set('containerName', text(raw.containerName, at('containerName'), problem, /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'a container name (letters, digits, "_", "." and "-")'))
  set('userLabels', stringMap(raw.labels, at('labels'), problem, /^[a-zA-Z0-9][a-zA-Z0-9_./-]{0,127}$/, 'label name'))
  if (out.userLabels && Object.keys(out.userLabels).some((k) => k.startsWith('thresh.'))) problem(at('labels'), 'Labels starting with "thresh." are thresh\'s own; rename them')
  set('capAdd', stringList(raw.capAdd, at('capAdd'), problem, CAPABILITY, 'capability like NET_ADMIN'))
  set('capDrop', stringList(raw.capDrop, at('capDrop'), problem, CAPABILITY, 'capability like NET_ADMIN'))
  set('stopSignal', text(raw.stopSignal, at('stopSignal'), problem, SIGNAL, 'a signal like SIGTERM or SIGQUIT'))
  if (raw.stopGracePeriod !== undefined) {
    const ms = parseDuration(raw.stopGracePeriod)
    if (ms === undefined || ms > 3_600_000) problem(at('stopGracePeriod'), `"${clip(String(raw.stopGracePeriod))}" is not a duration up to 1h like "30s"`)
    else out.stopGracePeriodMs = ms
  }
  set('resources', resources(raw.resources, at('resources'), problem))
  set('sysctls', stringMap(raw.sysctls, at('sysctls'), problem, SYSCTL, 'sysctl name'))
  set('networks', networks(raw.networks, at('networks'), problem))
  set('secrets', fileMounts(raw.secrets, at('secrets'), problem, (name) => `/run/secrets/${name}`))
  set('configs', fileMounts(raw.configs, at('configs'), problem, (name) => `/${name}`))
  return out
}

function stackFiles(value: unknown, path: string, problem: Problem): Record<string, StackFile> | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) {
    problem(path, `${path} must be a map of name to {content}`)
    return undefined
  }
  const out: Record<string, StackFile> = Object.create(null)
  for (const [name, file] of entriesOf(value)) {
    const where = childPath(path, name)
    if (!NAME.test(name)) problem(where, `"${clip(name)}" is not a valid name (letters, digits, "_", "." and "-")`)
    else if (!isObject(file) || typeof file.content !== 'string') {
      problem(where, isObject(file) && typeof file.file === 'string' ? `The file ${clip(file.file)} was not read: deploy with the thresh CLI, which sends its content` : 'Expected {content: "..."}')
    } else if (new TextEncoder().encode(file.content).length > MAX_FILE_BYTES) problem(where, `The content is larger than ${MAX_FILE_BYTES / 1024} KiB`)
    else out[name] = { content: file.content }
  }
  return out
}

/** The stack-level networks, secrets and configs, and whether every service names only declared ones. */
export function parseStackExtras(raw: Raw, problem: Problem): { networks?: string[]; secrets?: Record<string, StackFile>; configs?: Record<string, StackFile> } {
  const out: { networks?: string[]; secrets?: Record<string, StackFile>; configs?: Record<string, StackFile> } = {}
  if (raw.networks !== undefined) {
    const declared = networks(raw.networks, 'networks', problem)
    if (declared) out.networks = Object.keys(declared).filter((n) => n !== 'default')
  }
  const secrets = stackFiles(raw.secrets, 'secrets', problem)
  if (secrets) out.secrets = secrets
  const configs = stackFiles(raw.configs, 'configs', problem)
  if (configs) out.configs = configs
  return out
}

/** Cross-checks: a service's networks, secrets and configs are declared by the stack. */
export function checkReferences(
  stack: { networks?: string[]; secrets?: Record<string, StackFile>; configs?: Record<string, StackFile> },
  services: Array<{ service: StackService; path: string }>,
  problem: Problem,
): void {
  const nets = new Set(['default', ...(stack.networks ?? [])])
  for (const { service, path } of services) {
    for (const name of Object.keys(service.networks ?? {})) {
      if (!nets.has(name)) problem(childPath(`${path}.networks`, name), `Network "${clip(name)}" is not declared in the stack's networks`)
    }
    for (const kind of ['secrets', 'configs'] as const) {
      ;(service[kind] ?? []).forEach((mount, i) => {
        if (!stack[kind]?.[mount.source]) problem(`${path}.${kind}[${i}]`, `"${clip(mount.source)}" is not one of the stack's ${kind}`)
      })
    }
  }
}

/** The extra settings of a parsed service in the definition's own form: what `parseServiceExtras` reads back. */
export function formatServiceExtras(service: StackService): Raw {
  const out: Raw = {}
  const copy = ['expose', 'restart', 'entrypoint', 'user', 'workingDir', 'hostname', 'containerName', 'capAdd', 'capDrop', 'stopSignal', 'sysctls', 'networks', 'secrets', 'configs'] as const
  for (const key of copy) if (service[key] !== undefined) out[key] = service[key]
  if (service.userLabels) out.labels = service.userLabels
  if (service.stopGracePeriodMs !== undefined) out.stopGracePeriod = `${service.stopGracePeriodMs}ms`
  const r = service.resources
  if (r) {
    out.resources = {
      ...(r.memoryBytes !== undefined ? { memory: r.memoryBytes } : {}),
      ...(r.nanoCpus !== undefined ? { cpus: r.nanoCpus / 1e9 } : {}),
      ...(r.pids !== undefined ? { pids: r.pids } : {}),
      ...(r.shmBytes !== undefined ? { shm: r.shmBytes } : {}),
    }
  }
  return out
}

/** `dependsOn` as the definition writes it: a list, or a map with conditions when any is not service_started. */
export function formatDependencies(service: StackService): string[] | Record<string, { condition: DependencyCondition }> {
  const conditions = service.dependsOnConditions ?? {}
  if (Object.keys(conditions).length === 0) return service.dependsOn
  return Object.fromEntries(service.dependsOn.map((d) => [d, { condition: conditions[d] ?? 'service_started' }]))
}

/**
 * The bind mounts of `stack` outside `allowed` (absolute directories; a mount is allowed at or under
 * one of them), as `service: /host/path` texts; every bind mount when none is allowed.
 */
export function bindMountsOutside(stack: { services: StackService[] }, allowed: readonly string[]): string[] {
  const roots = allowed.map((p) => (p.endsWith('/') && p !== '/' ? p.slice(0, -1) : p))
  const inside = (path: string) => roots.some((root) => root === '/' || path === root || path.startsWith(`${root}/`))
  return stack.services.flatMap((s) => s.volumes.filter((v) => v.bind && !inside(v.name)).map((v) => `${s.name}: ${v.name}`))
}
