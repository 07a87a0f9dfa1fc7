// Config: typed fields with defaults, a JSON or TS file, THRESH_* env overrides and CLI flags,
// validated so that every problem names the source, the field and what was expected.
import { formatDuration, parseDuration } from './duration.ts'
import { ThreshError } from './errors.ts'
import type { LogLevel } from './logger.ts'

export type PluginEntry = string | [specifier: string, options?: Record<string, unknown>]

export interface TlsConfig {
  enabled: boolean
  cert?: string
  key?: string
}

export interface ThreshConfig {
  role: string
  host: string
  port: number
  tls: TlsConfig
  dataDir: string
  logLevel: LogLevel
  /** Extra plugins to load after the role's own: a path or package name, with options. */
  plugins: PluginEntry[]
  /** Names of the role's default plugins to leave out. */
  disable: string[]
  /** Options for plugins, by plugin name. */
  pluginOptions: Record<string, Record<string, unknown>>
  /** The plugins' own fields (storage, hubUrl, batchInterval, ...), declared by each plugin. */
  [field: string]: unknown
}

export type ConfigFieldType = 'string' | 'number' | 'boolean' | 'url' | 'duration' | 'list' | 'object' | 'tls' | 'plugins'

export interface ConfigField {
  type: ConfigFieldType
  description: string
  default?: unknown
  /** Allowed values for a string field. */
  oneOf?: readonly string[]
  /** Environment variable that overrides it; default THRESH_<FIELD_IN_SNAKE_CASE>; false for none. */
  env?: string | false
  /** Bounds of a number, or of a duration in ms. */
  min?: number
  max?: number
  /** A string field's shape, with `expected` saying it in words for errors. */
  pattern?: RegExp
  /** What a valid value looks like, in words (`an agent key, thresh_live_<account>_<secret>`). */
  expected?: string
  /** Never echoed back: values are masked in errors and listings. */
  secret?: boolean
}

export type ConfigFields = Record<string, ConfigField>

type ValueOf<T extends ConfigFieldType> = T extends 'number' | 'duration'
  ? number
  : T extends 'boolean'
    ? boolean
    : T extends 'list'
      ? string[]
      : T extends 'object'
        ? Record<string, unknown>
        : T extends 'tls'
          ? TlsConfig
          : T extends 'plugins'
            ? PluginEntry[]
            : string

/** The typed values of a set of fields: a field with a default is always there. */
export type SettingsOf<F extends ConfigFields> = {
  -readonly [K in keyof F]: F[K] extends { default: {} } ? ValueOf<F[K]['type']> : ValueOf<F[K]['type']> | undefined
}

/**
 * Types a plugin's fields, keeping their literal types so `ctx.settings` is typed; adds nothing at run time.
 * @example
 * const fields = defineFields({ greeting: { type: 'string', description: 'what to say', default: 'hi' } })
 */
export function defineFields<const F extends ConfigFields>(fields: F): F {
  return fields
}

/** Types a config file; adds nothing at run time. */
export function defineConfig(config: Partial<ThreshConfig> & Record<string, unknown>): Partial<ThreshConfig> & Record<string, unknown> {
  return config
}

export const commonConfigFields: ConfigFields = {
  role: { type: 'string', description: 'the role to run' },
  host: { type: 'string', description: 'address to listen on', default: '0.0.0.0' },
  port: { type: 'number', description: 'port to listen on (0 = any free port)', min: 0, max: 65535 },
  tls: { type: 'tls', description: 'false, true, or {cert, key} file paths', default: { enabled: true } },
  dataDir: { type: 'string', description: 'data directory', env: 'THRESH_HOME' },
  logLevel: { type: 'string', description: 'log level', default: 'info', oneOf: ['silent', 'error', 'warn', 'info', 'debug', 'trace'] },
  plugins: { type: 'plugins', description: 'extra plugins: a path or package name, or [name, options]', default: [], env: false },
  disable: { type: 'list', description: 'default plugins to leave out', default: [] },
  pluginOptions: { type: 'object', description: 'options by plugin name', default: {}, env: false },
}

/** A layer of values, weakest first: a file, the environment, the command line. */
export interface ConfigSource {
  /** Named in errors: a file path, `environment`, `command line`. */
  name: string
  data: unknown
  /** Values are text to parse (`"5s"`, `"8080"`, `"true"`). */
  fromText?: boolean
  /** Keys that are not fields belong to someone else (the agent id in agent.json): skip them. */
  ignoreUnknown?: boolean
}

export interface ResolveConfigInput {
  fields: ConfigFields
  /** Role defaults, applied over field defaults. */
  defaults?: Record<string, unknown>
  /** Layers under the config file (agent.json). */
  layers?: ConfigSource[]
  file?: { path: string; data: unknown }
  env?: Record<string, string | undefined>
  /** CLI flags: the strongest source. */
  flags?: Record<string, unknown>
  /** A first pass that only picks what it knows (selectors, the plugin list) and checks nothing else. */
  lenient?: boolean
}

export const camelCase = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
export const kebabCase = (field: string): string => field.replace(/([A-Z])/g, '-$1').toLowerCase()
export const envName = (field: string, spec?: ConfigField): string | undefined =>
  spec?.env === false ? undefined : (spec?.env ?? 'THRESH_' + field.replace(/([A-Z])/g, '_$1').toUpperCase())

export function resolveConfig(input: ResolveConfigInput): ThreshConfig {
  const { fields, lenient = false } = input
  const problems: string[] = []
  const config: Record<string, unknown> = {}

  for (const [name, field] of Object.entries(fields)) {
    if (field.default !== undefined) config[name] = structuredClone(field.default)
  }
  for (const [name, value] of Object.entries(input.defaults ?? {})) config[name] = value

  const apply = (source: ConfigSource) => {
    if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
      problems.push(`${source.name}: the config must be an object of fields`)
      return
    }
    for (const [rawKey, value] of Object.entries(source.data)) {
      if (value === undefined) continue
      const key = camelCase(rawKey)
      const field = Object.hasOwn(fields, key) ? fields[key] : undefined
      if (!field) {
        if (!lenient && !source.ignoreUnknown) problems.push(`${source.name}: unknown field '${rawKey}' (valid fields: ${Object.keys(fields).join(', ')})`)
        continue
      }
      const result = coerceField(field, value, source.fromText ?? false)
      if ('error' in result) {
        if (!lenient) problems.push(`${source.name}: field '${rawKey}' ${result.error} (got ${field.secret ? 'a value that is not shown' : JSON.stringify(value)})`)
      } else config[key] = result.value
    }
  }

  for (const layer of input.layers ?? []) apply(layer)
  if (input.file) apply({ name: input.file.path, data: input.file.data })
  if (input.env) {
    const fromEnv: Record<string, unknown> = {}
    for (const [name, field] of Object.entries(fields)) {
      const variable = envName(name, field)
      const value = variable ? input.env[variable] : undefined
      if (value !== undefined && value !== '') fromEnv[name] = value
    }
    apply({ name: 'environment', data: fromEnv, fromText: true })
  }
  if (input.flags) apply({ name: 'command line', data: input.flags, fromText: true })

  if (problems.length > 0) {
    throw new ThreshError({
      code: 'config_invalid',
      status: 400,
      message: `Invalid config: ${problems.join('; ')}.`,
      details: problems,
    })
  }
  return config as ThreshConfig
}

type Coerced = { value: unknown } | { error: string }

/** One value checked against its field: the typed value, or what was expected. */
export function coerceField(field: ConfigField, value: unknown, fromText: boolean): Coerced {
  const result = coerce(field, value, fromText)
  if ('error' in result) return field.expected ? { error: `must be ${field.expected}` } : result
  return result
}

function coerce(field: ConfigField, value: unknown, fromText: boolean): Coerced {
  switch (field.type) {
    case 'string': {
      if (typeof value !== 'string') return { error: 'must be a string' }
      if (field.oneOf && !field.oneOf.includes(value)) return { error: `must be one of ${field.oneOf.join(', ')}` }
      if (field.pattern && !field.pattern.test(value)) return { error: 'has the wrong form' }
      return { value }
    }
    case 'url': {
      // http(s) unless the field names its own shape (postgres://...).
      const shape = field.pattern ?? /^https?:\/\/[^\s/]+(\/\S*)?$/
      if (typeof value !== 'string' || !shape.test(value.trim())) return { error: 'must be an http:// or https:// URL such as https://hub.example:7200' }
      return { value: value.trim().replace(/\/+$/, '') }
    }
    case 'number': {
      const n = fromText && typeof value === 'string' && value.trim() !== '' ? Number(value) : value
      if (typeof n !== 'number' || !Number.isFinite(n)) return { error: 'must be a number' }
      if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max)) {
        return { error: `must be between ${field.min ?? '-∞'} and ${field.max ?? '∞'}` }
      }
      return { value: n }
    }
    case 'boolean':
      return parseBoolean(value) ?? { error: 'must be true or false' }
    case 'duration': {
      const ms = parseDuration(value)
      const least = field.min ?? 0
      if (ms === undefined || ms < least) {
        return { error: `must be a duration${least > 0 ? ` of at least ${formatDuration(least)}` : ''} such as 500ms, 5s, 10m, 24h or a number of seconds` }
      }
      if (field.max !== undefined && ms > field.max) return { error: `must be a duration of at most ${formatDuration(field.max)}` }
      return { value: ms }
    }
    case 'list': {
      const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value
      if (!Array.isArray(items) || !items.every((v) => typeof v === 'string')) return { error: 'must be a list of strings' }
      return field.pattern && !items.every((v) => field.pattern!.test(v)) ? { error: 'has an entry of the wrong form' } : { value: items }
    }
    case 'object':
      return value && typeof value === 'object' && !Array.isArray(value) ? { value } : { error: 'must be an object' }
    case 'plugins': {
      const ok =
        Array.isArray(value) &&
        value.every(
          (entry) =>
            (typeof entry === 'string' && entry.length > 0) ||
            (Array.isArray(entry) && typeof entry[0] === 'string' && (entry[1] === undefined || (typeof entry[1] === 'object' && entry[1] !== null))),
        )
      return ok ? { value } : { error: 'must be a list of plugin paths or package names, or [name, options] pairs' }
    }
    case 'tls': {
      const flag = parseBoolean(value)
      if (flag) return { value: { enabled: flag.value } }
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const { cert, key } = value as Record<string, unknown>
        if (typeof cert !== 'string' || typeof key !== 'string') return { error: 'must give both cert and key file paths' }
        return { value: { enabled: true, cert, key } }
      }
      return { error: 'must be true, false or {"cert": FILE, "key": FILE}' }
    }
  }
}

function parseBoolean(value: unknown): { value: boolean } | undefined {
  if (typeof value === 'boolean') return { value }
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined
  if (text === 'true' || text === '1' || text === 'yes' || text === 'on') return { value: true }
  if (text === 'false' || text === '0' || text === 'no' || text === 'off') return { value: false }
  return undefined
}

/** What a field accepts, in words: for help text and refusals. */
export function describeField(field: ConfigField): string {
  if (field.expected) return field.expected
  if (field.oneOf) return field.oneOf.length > 1 ? `${field.oneOf.slice(0, -1).join(', ')} or ${field.oneOf.at(-1)}` : field.oneOf.join('')
  switch (field.type) {
    case 'boolean':
      return 'true or false'
    case 'duration':
      return `a duration${field.min ? ` of at least ${formatDuration(field.min)}` : ''}, such as 30s, 5m or 1h (a bare number means seconds)`
    case 'url':
      return 'an http:// or https:// URL such as https://hub.example:7200'
    case 'number':
      return field.min !== undefined || field.max !== undefined ? `a number between ${field.min ?? '-∞'} and ${field.max ?? '∞'}` : 'a number'
    case 'list':
      return 'a comma-separated list'
    default:
      return `a ${field.type}`
  }
}
