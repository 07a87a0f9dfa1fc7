// Config: typed fields with defaults, a JSON or TS file, THRESH_* env overrides and CLI flags,
// validated so that every problem names the source, the field and what was expected.
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
  /** Role-specific fields (storage, hubUrl, batchInterval, ...), declared by the role. */
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
  min?: number
  max?: number
}

export type ConfigFields = Record<string, ConfigField>

/** Types a config file; adds nothing at run time. */
export function defineConfig(config: Partial<ThreshConfig> & Record<string, unknown>): Partial<ThreshConfig> & Record<string, unknown> {
  return config
}

export const commonConfigFields: ConfigFields = {
  role: { type: 'string', description: 'the role to run', oneOf: ['hub', 'midtier', 'agent'] },
  host: { type: 'string', description: 'address to listen on', default: '0.0.0.0' },
  port: { type: 'number', description: 'port to listen on (0 = any free port)', min: 0, max: 65535 },
  tls: { type: 'tls', description: 'false, true, or {cert, key} file paths', default: { enabled: true } },
  dataDir: { type: 'string', description: 'data directory', env: 'THRESH_HOME' },
  logLevel: { type: 'string', description: 'log level', default: 'info', oneOf: ['silent', 'error', 'warn', 'info', 'debug', 'trace'] },
  plugins: { type: 'plugins', description: 'extra plugins: a path or package name, or [name, options]', default: [], env: false },
  disable: { type: 'list', description: 'default plugins to leave out', default: [] },
  pluginOptions: { type: 'object', description: 'options by plugin name', default: {}, env: false },
}

export interface ResolveConfigInput {
  fields: ConfigFields
  /** Role defaults, applied over field defaults. */
  defaults?: Record<string, unknown>
  file?: { path: string; data: unknown }
  env?: Record<string, string | undefined>
  /** CLI flags: the strongest source. */
  flags?: Record<string, unknown>
}

const camelCase = (key: string) => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
const envName = (field: string) => 'THRESH_' + field.replace(/([A-Z])/g, '_$1').toUpperCase()

export function resolveConfig(input: ResolveConfigInput): ThreshConfig {
  const { fields } = input
  const problems: string[] = []
  const config: Record<string, unknown> = {}

  for (const [name, field] of Object.entries(fields)) {
    if (field.default !== undefined) config[name] = structuredClone(field.default)
  }
  for (const [name, value] of Object.entries(input.defaults ?? {})) config[name] = value

  const apply = (source: string, raw: Record<string, unknown>, fromText: boolean) => {
    for (const [rawKey, value] of Object.entries(raw)) {
      if (value === undefined) continue
      const key = camelCase(rawKey)
      const field = fields[key]
      if (!field) {
        problems.push(`${source}: unknown field '${rawKey}' (valid fields: ${Object.keys(fields).join(', ')})`)
        continue
      }
      const result = coerce(field, value, fromText)
      if ('error' in result) problems.push(`${source}: field '${rawKey}' ${result.error} (got ${JSON.stringify(value)})`)
      else config[key] = result.value
    }
  }

  if (input.file) {
    const { path, data } = input.file
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      problems.push(`${path}: the config must be an object of fields`)
    } else apply(path, data as Record<string, unknown>, false)
  }
  if (input.env) {
    const fromEnv: Record<string, unknown> = {}
    for (const [name, field] of Object.entries(fields)) {
      if (field.env === false) continue
      const value = input.env[field.env ?? envName(name)]
      if (value !== undefined && value !== '') fromEnv[name] = value
    }
    apply('environment', fromEnv, true)
  }
  if (input.flags) apply('command line', input.flags, false)

  for (const [name, field] of Object.entries(fields)) {
    const value = config[name]
    if (value === undefined) continue
    if (field.oneOf && !field.oneOf.includes(value as string)) {
      problems.push(`field '${name}' must be one of ${field.oneOf.join(', ')} (got ${JSON.stringify(value)})`)
    }
  }

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

function coerce(field: ConfigField, value: unknown, fromText: boolean): Coerced {
  switch (field.type) {
    case 'string':
      return typeof value === 'string' ? { value } : { error: 'must be a string' }
    case 'url': {
      if (typeof value !== 'string' || !/^(https?|postgres(ql)?|wss?):\/\/[^\s]+$/.test(value)) {
        return { error: 'must be a URL such as https://hub.example:7200' }
      }
      return { value: value.replace(/\/+$/, '') }
    }
    case 'number': {
      const n = fromText && typeof value === 'string' ? Number(value) : value
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
      return ms === undefined ? { error: 'must be a duration such as 500ms, 5s, 10m, 24h or a number of seconds' } : { value: ms }
    }
    case 'list': {
      if (typeof value === 'string') return { value: value.split(',').map((s) => s.trim()).filter(Boolean) }
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? { value } : { error: 'must be a list of strings' }
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
  if (value === 'true' || value === '1' || value === 'yes') return { value: true }
  if (value === 'false' || value === '0' || value === 'no') return { value: false }
  return undefined
}

/** Milliseconds from `500ms`, `5s`, `10m`, `24h`, `7d`, or a bare number of seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined
  if (typeof value !== 'string') return undefined
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim())
  if (!match) return undefined
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!
  return Number(match[1]) * unit
}
