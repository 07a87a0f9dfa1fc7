// Converts a Compose file (compose.yaml / docker-compose.yml) into thresh's stack definition: variables
// interpolated, short and long forms normalised, files (env_file, secrets, configs) read through the
// caller, every unsupported key reported with its path and line, then validated as any stack is.
import { LineCounter, parseDocument } from 'yaml'
import { childPath, clip, PROTOTYPE_KEYS } from '../json-guard.ts'
import { parseStack } from '../parse.ts'
import type { StackDefinition, StackProblem } from '../types.ts'
import { convertExpose, convertHealthcheck, convertPort, convertVolume } from './forms.ts'
import { interpolate, parseEnvFile, splitCommand } from './interpolate.ts'
import { locator, type Locator } from './locate.ts'

export interface ComposeOptions {
  /** Stack name when the file has no top-level `name` (the CLI passes the file's directory name). */
  name?: string
  /** Variables for interpolation and for `environment` entries without a value (shell, `.env`, `--env-file`). */
  env?: Readonly<Record<string, string>>
  /**
   * Reads a file named in the compose file (env_file, secrets, configs), relative to the compose file.
   * Absent where no files can be read (the hub, the dashboard): those keys are then an error.
   */
  readFile?: (path: string) => string
  /** Directory of the compose file on this machine: relative bind mounts resolve from it. Absent for remote deploys. */
  baseDir?: string
  /** Home directory for `~/` bind mounts (local deploys only). */
  home?: string
  /** Unsupported keys become warnings and are left out. */
  ignoreUnsupported?: boolean
  /** Secrets and configs keep `{file}` instead of their content (what `thresh stack convert` prints). */
  keepFileReferences?: boolean
}

export interface ComposeProblem extends StackProblem {
  line?: number
  column?: number
}

export type ComposeResult =
  | { ok: true; definition: Record<string, unknown>; stack: StackDefinition; warnings: ComposeProblem[] }
  | { ok: false; errors: ComposeProblem[]; warnings: ComposeProblem[] }

type Raw = Record<string, unknown>
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value)
const entriesOf = (record: Raw) => Object.entries(record).filter(([key]) => !PROTOTYPE_KEYS.has(key))

const TOP_KEYS = new Set(['name', 'version', 'services', 'volumes', 'networks', 'secrets', 'configs'])
const SERVICE_KEYS = new Set([
  'image', 'ports', 'expose', 'volumes', 'environment', 'env_file', 'depends_on', 'healthcheck', 'restart', 'command',
  'entrypoint', 'user', 'working_dir', 'hostname', 'labels', 'container_name', 'cap_add', 'cap_drop', 'stop_signal',
  'stop_grace_period', 'deploy', 'mem_limit', 'cpus', 'pids_limit', 'shm_size', 'sysctls', 'networks', 'secrets', 'configs',
])
/** What to do instead, for the unsupported keys people meet most. */
const ADVICE: Record<string, string> = {
  build: 'thresh deploys images only: build the image, push it to a registry and name it in image:',
  links: 'services reach each other by name on the stack network already: remove links',
  network_mode: 'every service joins the stack network; remove network_mode',
  privileged: 'grant only what the service needs with cap_add',
  extends: 'copy the settings into the service (YAML anchors and <<: merge keys work)',
  profiles: 'remove the services you do not want from the file',
}
const DEPLOY_KEYS = new Set(['resources', 'restart_policy', 'replicas'])

/** True when `text` is a compose file rather than thresh's JSON: its name ends in .yaml/.yml, or it is not a JSON object. */
export function looksLikeCompose(text: string, fileName?: string): boolean {
  if (fileName && /\.(ya?ml)$/i.test(fileName)) return true
  if (fileName && /\.json$/i.test(fileName)) return false
  return !text.trimStart().startsWith('{')
}

/** A Compose project name as a thresh stack name: lowercase, `_` and other characters as `-`. */
export function stackNameFrom(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'stack'
}

/**
 * Converts compose text into a thresh stack definition and validates it.
 * @example
 * const result = convertCompose(yaml, { name: 'blog', env: process.env, readFile: (p) => readFileSync(join(dir, p), 'utf8') })
 * if (result.ok) console.log(JSON.stringify(result.definition, null, 2))
 */
export function convertCompose(text: string, options: ComposeOptions = {}): ComposeResult {
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, merge: true, uniqueKeys: true, prettyErrors: false })
  const warnings: ComposeProblem[] = []
  if (doc.errors.length > 0) {
    const errors = doc.errors.slice(0, 10).map((e) => {
      const { line, col } = counter.linePos(e.pos[0])
      return { path: '', line, column: col, message: `Invalid YAML at line ${line}, column ${col}: ${e.message.split('\n')[0]}` }
    })
    return { ok: false, errors, warnings }
  }
  const locate = locator(doc, counter)
  let raw: unknown
  try {
    raw = doc.toJS({ maxAliasCount: 1000 })
  } catch (error) {
    return { ok: false, errors: [{ path: '', message: `The YAML cannot be read: ${(error as Error).message}` }], warnings }
  }
  if (containsItself(raw)) {
    return { ok: false, errors: [{ path: '', message: 'The YAML cannot be read: an alias (*name) refers to a node that contains it, so it never ends.' }], warnings }
  }
  const errors: ComposeProblem[] = []
  const place = (path: string) => locate(path) ?? {}
  const error = (path: string, message: string) => errors.push({ path, message, ...place(path) })
  const warn = (path: string, message: string) => warnings.push({ path, message, ...place(path) })
  const unsupported = (path: string, key: string) => {
    const message = `${key} is not supported: ${ADVICE[key] ?? 'remove it'}${options.ignoreUnsupported ? ' (left out)' : ', or pass --ignore-unsupported to leave it out'}`
    ;(options.ignoreUnsupported ? warn : error)(path, message)
  }

  if (!isObject(raw)) {
    error('', 'A compose file must be a map with services')
    return { ok: false, errors, warnings }
  }
  octalModes(doc, raw)
  const vars: Record<string, string> = Object.assign(Object.create(null), options.env ?? {})
  const value = interpolateAll(raw, '', vars, error) as Raw

  for (const [key] of entriesOf(value)) if (!TOP_KEYS.has(key) && !key.startsWith('x-')) unsupported(key, key)

  const files = (kind: 'secrets' | 'configs') => convertFiles(value[kind], kind, options, error, unsupported, vars)
  const secrets = files('secrets')
  const configs = files('configs')
  const declaredVolumes = topVolumes(value.volumes, unsupported, error)
  const networks = topNetworks(value.networks, unsupported, error)

  const services: Raw = {}
  if (!isObject(value.services)) error('services', 'The compose file needs services (a map of name to service)')
  else {
    for (const [name, service] of entriesOf(value.services)) {
      const path = childPath('services', name)
      if (!isObject(service)) {
        error(path, 'A service must be a map')
        continue
      }
      const converted = convertService(service, path, name, { options, declaredVolumes, error, warn, unsupported, vars })
      const thresh = stackNameFrom(name)
      if (thresh !== name) {
        warn(path, `The service name "${clip(name)}" becomes "${thresh}" (a DNS label); "${clip(name)}" stays a network alias`)
        const nets = (converted.networks ??= { default: { aliases: [] } }) as Record<string, { aliases: string[] }>
        nets.default ??= { aliases: [] }
        nets.default.aliases.push(name)
      }
      services[thresh] = converted
    }
  }
  const rawName = typeof value.name === 'string' ? value.name : options.name
  const definition: Raw = {
    name: rawName === undefined ? undefined : stackNameFrom(rawName),
    services,
    ...(networks.length > 0 ? { networks } : {}),
    ...(secrets ? { secrets } : {}),
    ...(configs ? { configs } : {}),
  }
  if (rawName === undefined) error('name', 'The stack needs a name: add a top-level name:')
  else if (definition.name !== rawName) warn('name', `The project name "${clip(rawName)}" becomes the stack name "${definition.name as string}"`)
  if (errors.length > 0) return { ok: false, errors, warnings }

  // Validation of what it became, with the problems pointing back into the compose file.
  const forParse = options.keepFileReferences ? withPlaceholderContent(definition) : definition
  const parsed = parseStack(forParse)
  if (!parsed.ok) return { ok: false, errors: parsed.errors.map((e) => ({ ...e, ...place(e.path) })), warnings }
  return { ok: true, definition, stack: parsed.stack, warnings }
}

/** `mode: 0440` is octal in Compose (YAML 1.1's reading); YAML 1.2 reads it as decimal 440. */
/** True when a value holds itself (`a: &a [*a]`): every later walk of it would never end. */
function containsItself(value: unknown, open = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (open.has(value)) return true
  open.add(value)
  const children = value instanceof Map ? [...value.values()] : Object.values(value)
  const found = children.some((child) => containsItself(child, open))
  open.delete(value)
  return found
}

function octalModes(doc: ReturnType<typeof parseDocument>, raw: unknown): void {
  if (!isObject(raw) || !isObject(raw.services)) return
  for (const [name, service] of entriesOf(raw.services)) {
    for (const kind of ['secrets', 'configs'] as const) {
      const list = isObject(service) ? service[kind] : undefined
      if (!Array.isArray(list)) continue
      list.forEach((entry, i) => {
        if (!isObject(entry) || typeof entry.mode !== 'number') return
        const node = doc.getIn(['services', name, kind, i, 'mode'], true) as { source?: string } | undefined
        const source = node?.source ?? ''
        if (/^0[0-7]+$/.test(source)) entry.mode = parseInt(source, 8)
      })
    }
  }
}

function withPlaceholderContent(definition: Raw): Raw {
  const fill = (files: unknown) =>
    isObject(files) ? Object.fromEntries(Object.keys(files).map((k) => [k, { content: '' }])) : files
  return { ...definition, secrets: fill(definition.secrets), configs: fill(definition.configs) }
}

type Report = (path: string, message: string) => void

/** Every string of the document with its variables replaced; keys stay as written. */
function interpolateAll(value: unknown, path: string, vars: Record<string, string>, error: Report): unknown {
  if (typeof value === 'string') {
    const result = interpolate(value, vars)
    if (result.error) error(path, result.error)
    return result.value
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateAll(v, childPath(path, i), vars, error))
  if (isObject(value)) {
    const out: Raw = {}
    for (const [k, v] of entriesOf(value)) out[k] = k.startsWith('x-') ? v : interpolateAll(v, childPath(path, k), vars, error)
    return out
  }
  return value
}

function topVolumes(value: unknown, unsupported: (path: string, key: string) => void, error: Report): Set<string> {
  const names = new Set<string>()
  if (value === undefined || value === null) return names
  if (!isObject(value)) {
    error('volumes', 'volumes must be a map of volume names')
    return names
  }
  for (const [name, settings] of entriesOf(value)) {
    names.add(name)
    if (isObject(settings)) {
      for (const [key, v] of entriesOf(settings)) {
        if ((key === 'driver' && v === 'local') || (key === 'external' && v === false)) continue
        if (key === 'labels' || key.startsWith('x-')) continue
        unsupported(`${childPath('volumes', name)}.${key}`, key)
      }
    }
  }
  return names
}

function topNetworks(value: unknown, unsupported: (path: string, key: string) => void, error: Report): string[] {
  if (value === undefined || value === null) return []
  if (!isObject(value)) {
    error('networks', 'networks must be a map of network names')
    return []
  }
  const names: string[] = []
  for (const [name, settings] of entriesOf(value)) {
    if (name !== 'default') names.push(name)
    if (isObject(settings)) {
      for (const [key, v] of entriesOf(settings)) {
        if ((key === 'driver' && v === 'bridge') || (key === 'external' && v === false)) continue
        if (key === 'labels' || key.startsWith('x-')) continue
        unsupported(`${childPath('networks', name)}.${key}`, key)
      }
    }
  }
  return names
}

function convertFiles(
  value: unknown,
  kind: 'secrets' | 'configs',
  options: ComposeOptions,
  error: Report,
  unsupported: (path: string, key: string) => void,
  vars: Record<string, string>,
): Raw | undefined {
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) {
    error(kind, `${kind} must be a map of name to {file}`)
    return undefined
  }
  const out: Raw = {}
  for (const [name, settings] of entriesOf(value)) {
    const path = childPath(kind, name)
    if (!isObject(settings)) {
      error(path, 'Expected {file: ./path}')
      continue
    }
    for (const [key] of entriesOf(settings)) if (!['file', 'environment', 'content'].includes(key) && !key.startsWith('x-')) unsupported(`${path}.${key}`, key)
    if (typeof settings.file === 'string') {
      if (options.keepFileReferences) out[name] = { file: settings.file }
      else if (!options.readFile) error(`${path}.file`, `The file ${clip(settings.file)} cannot be read here: deploy the compose file with the thresh CLI, which sends its content`)
      else {
        try {
          out[name] = { content: options.readFile(settings.file) }
        } catch (e) {
          error(`${path}.file`, `Cannot read ${clip(settings.file)}: ${(e as Error).message}`)
        }
      }
    } else if (typeof settings.environment === 'string') {
      const content = vars[settings.environment]
      if (content === undefined) error(`${path}.environment`, `The variable ${clip(settings.environment)} is not set`)
      else out[name] = { content }
    } else if (typeof settings.content === 'string' && kind === 'configs') out[name] = { content: settings.content }
    else if (settings.external === undefined) error(path, kind === 'configs' ? 'Expected file, content or environment' : 'Expected file or environment')
  }
  return out
}

interface ServiceContext {
  options: ComposeOptions
  declaredVolumes: ReadonlySet<string>
  error: Report
  warn: Report
  unsupported: (path: string, key: string) => void
  vars: Record<string, string>
}

/** A `KEY=value` list or a map as a map; `KEY` alone (or a null value) takes the variable's value, if any. */
function keyValues(value: unknown, path: string, vars: Record<string, string>, error: Report, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined
  const out: Record<string, string> = Object.create(null)
  const put = (key: string, v: unknown, where: string) => {
    if (v === null || v === undefined) {
      if (vars[key] !== undefined) out[key] = vars[key]!
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v)
    else error(where, `The value of ${clip(key)} must be a string, number or boolean`)
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item !== 'string') return error(childPath(path, i), `Expected "NAME=value"`)
      const eq = item.indexOf('=')
      if (eq < 0) put(item, null, childPath(path, i))
      else out[item.slice(0, eq)] = item.slice(eq + 1)
    })
  } else if (isObject(value)) for (const [k, v] of entriesOf(value)) put(k, v, childPath(path, k))
  else error(path, `${what} must be a map or a list of "NAME=value"`)
  return out
}

function argv(value: unknown, path: string, error: Report): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value)) return value.map(String)
  if (typeof value !== 'string') {
    error(path, 'Expected a string or a list of strings')
    return undefined
  }
  const words = splitCommand(value)
  if (typeof words === 'string') error(path, `The command cannot be split: ${words}`)
  return typeof words === 'string' ? undefined : words
}

function convertService(service: Raw, path: string, name: string, context: ServiceContext): Raw {
  const { options, error, warn, unsupported, vars } = context
  const at = (key: string) => `${path}.${key}`
  const out: Raw = {}
  for (const [key] of entriesOf(service)) if (!SERVICE_KEYS.has(key) && !key.startsWith('x-')) unsupported(at(key), key)
  if (service.image !== undefined) out.image = service.image

  // Ports and expose.
  const ports: string[] = []
  const expose: string[] = []
  if (service.ports !== undefined) {
    if (!Array.isArray(service.ports)) error(at('ports'), 'ports must be a list')
    else {
      service.ports.forEach((p, i) => {
        const converted = convertPort(p)
        if (typeof converted === 'string') return error(childPath(at('ports'), i), converted)
        ports.push(...converted.ports)
        if (converted.exposed.length > 0) {
          warn(childPath(at('ports'), i), `No host port: Compose would pick a random one; thresh exposes ${converted.exposed.join(', ')} on the stack network only (write "HOST:CONTAINER" to publish)`)
          expose.push(...converted.exposed)
        }
      })
    }
  }
  if (service.expose !== undefined) {
    if (!Array.isArray(service.expose)) error(at('expose'), 'expose must be a list')
    else
      service.expose.forEach((e, i) => {
        const converted = convertExpose(e)
        if (typeof converted === 'string') error(childPath(at('expose'), i), converted)
        else expose.push(...converted)
      })
  }
  if (ports.length > 0) out.ports = ports
  if (expose.length > 0) out.expose = [...new Set(expose)]

  // Volumes.
  if (service.volumes !== undefined) {
    if (!Array.isArray(service.volumes)) error(at('volumes'), 'volumes must be a list')
    else {
      let anonymous = 0
      const volumeContext = {
        declared: context.declaredVolumes,
        ...(options.baseDir !== undefined ? { baseDir: options.baseDir } : {}),
        ...(options.home !== undefined ? { home: options.home } : {}),
        anonymous: () => `${stackNameFrom(name)}-anon${++anonymous}`,
      }
      out.volumes = service.volumes.flatMap((v, i) => {
        const converted = convertVolume(v, volumeContext)
        if ('error' in converted) {
          error(childPath(at('volumes'), i), converted.error)
          return []
        }
        if (converted.warning) warn(childPath(at('volumes'), i), converted.warning)
        return [converted.volume]
      })
    }
  }

  // Environment: env_file first, environment over it.
  const env: Record<string, string> = Object.create(null)
  if (service.env_file !== undefined) {
    const list = Array.isArray(service.env_file) ? service.env_file : [service.env_file]
    list.forEach((entry, i) => {
      const where = Array.isArray(service.env_file) ? childPath(at('env_file'), i) : at('env_file')
      const file = typeof entry === 'string' ? entry : isObject(entry) ? entry.path : undefined
      const required = isObject(entry) ? entry.required !== false : true
      if (typeof file !== 'string') return error(where, 'Expected a file path or {path, required}')
      if (!options.readFile) return error(where, `The env_file ${clip(file)} cannot be read here: deploy the compose file with the thresh CLI, or move the variables into environment`)
      let text: string
      try {
        text = options.readFile(file)
      } catch (e) {
        if (required) error(where, `Cannot read ${clip(file)}: ${(e as Error).message}`)
        return
      }
      const parsed = parseEnvFile(text)
      for (const problem of parsed.errors) error(where, `${clip(file)} line ${problem.line}: ${problem.message}`)
      Object.assign(env, parsed.vars)
    })
  }
  Object.assign(env, keyValues(service.environment, at('environment'), vars, error, 'environment') ?? {})
  if (Object.keys(env).length > 0) out.env = { ...env }

  // Service names become DNS labels (`plausible_db` -> `plausible-db`); references follow them.
  const deps = service.depends_on
  if (Array.isArray(deps)) out.depends_on = deps.map((d) => (typeof d === 'string' ? stackNameFrom(d) : d))
  else if (isObject(deps)) out.depends_on = Object.fromEntries(entriesOf(deps).map(([d, v]) => [stackNameFrom(d), v]))
  else if (deps !== undefined) out.depends_on = deps
  if (service.healthcheck !== undefined) {
    const hc = convertHealthcheck(service.healthcheck)
    if (typeof hc === 'string') error(at('healthcheck'), hc)
    else out.healthcheck = hc
  }
  const command = argv(service.command, at('command'), error)
  if (command) out.command = command
  const entrypoint = argv(service.entrypoint, at('entrypoint'), error)
  if (entrypoint) out.entrypoint = entrypoint

  const copy: Array<[string, string]> = [
    ['restart', 'restart'], ['user', 'user'], ['working_dir', 'workingDir'], ['hostname', 'hostname'], ['container_name', 'containerName'],
    ['cap_add', 'capAdd'], ['cap_drop', 'capDrop'], ['stop_signal', 'stopSignal'], ['stop_grace_period', 'stopGracePeriod'],
    ['networks', 'networks'], ['secrets', 'secrets'], ['configs', 'configs'],
  ]
  for (const [from, to] of copy) if (service[from] !== undefined && service[from] !== null) out[to] = typeof service[from] === 'number' && from === 'user' ? String(service[from]) : service[from]
  const labels = keyValues(service.labels, at('labels'), {}, error, 'labels')
  if (labels) out.labels = { ...labels }
  const sysctls = keyValues(service.sysctls, at('sysctls'), {}, error, 'sysctls')
  if (sysctls) out.sysctls = { ...sysctls }

  // Limits: deploy.resources.limits, then mem_limit / cpus / pids_limit over them.
  const resources: Raw = {}
  if (service.deploy !== undefined) {
    const deploy = isObject(service.deploy) ? service.deploy : {}
    for (const [key] of entriesOf(deploy)) if (!DEPLOY_KEYS.has(key)) unsupported(`${at('deploy')}.${key}`, key)
    if (deploy.replicas !== undefined && deploy.replicas !== 1) unsupported(`${at('deploy')}.replicas`, 'replicas')
    const res = isObject(deploy.resources) ? deploy.resources : {}
    for (const [key] of entriesOf(res)) if (key !== 'limits') unsupported(`${at('deploy')}.resources.${key}`, key)
    const limits = isObject(res.limits) ? res.limits : {}
    for (const [key, v] of entriesOf(limits)) {
      if (key === 'cpus' || key === 'memory' || key === 'pids') resources[key] = v
      else unsupported(`${at('deploy')}.resources.limits.${key}`, key)
    }
    const policy = isObject(deploy.restart_policy) ? deploy.restart_policy : undefined
    if (policy && service.restart === undefined) {
      const condition = policy.condition ?? 'any'
      out.restart = condition === 'none' ? 'no' : condition === 'on-failure' ? (policy.max_attempts ? `on-failure:${policy.max_attempts}` : 'on-failure') : 'always'
      for (const [key] of entriesOf(policy)) if (!['condition', 'max_attempts'].includes(key)) unsupported(`${at('deploy')}.restart_policy.${key}`, key)
    }
  }
  if (service.mem_limit !== undefined) resources.memory = service.mem_limit
  if (service.cpus !== undefined) resources.cpus = service.cpus
  if (service.pids_limit !== undefined) resources.pids = service.pids_limit
  if (service.shm_size !== undefined) resources.shm = service.shm_size
  if (Object.keys(resources).length > 0) out.resources = resources
  return out
}
