// `thresh run` flags made from the role's settings: every scalar field is `--<kebab-name>`, described
// with its default and environment variable, and any flag the role does not have is refused by name.
import type { ArgsDef } from 'citty'
import { camelCase, describeField, envName, formatDuration, kebabCase, ThreshError, type ConfigField, type ConfigFields } from '../core/index.ts'

/** Fields that are set in a config file only: no flag can hold them. */
const FILE_ONLY = new Set(['object', 'plugins'])
/** Flags `thresh run` has whatever the role: not settings. */
const OWN_FLAGS = new Set(['role', 'config'])

function shownDefault(field: ConfigField): string | undefined {
  if (field.default === undefined || field.secret) return undefined
  if (field.type === 'duration' && typeof field.default === 'number') return formatDuration(field.default)
  if (field.type === 'tls') return (field.default as { enabled: boolean }).enabled ? 'true' : 'false'
  if (Array.isArray(field.default)) return field.default.length ? field.default.join(',') : undefined
  return String(field.default)
}

function help(name: string, field: ConfigField): string {
  const parts = [field.description]
  if (field.oneOf || field.expected) parts.push(describeField(field))
  else if (field.type === 'duration') parts.push('a duration such as 30s or 5m')
  const fallback = shownDefault(field)
  if (fallback !== undefined) parts.push(`default ${fallback}`)
  const variable = envName(name, field)
  if (variable) parts.push(variable)
  return parts.join('; ')
}

export function flagArgs(fields: ConfigFields): ArgsDef {
  const args: ArgsDef = {}
  for (const [name, field] of Object.entries(fields)) {
    if (FILE_ONLY.has(field.type) || OWN_FLAGS.has(name)) continue
    const boolean = field.type === 'boolean' || field.type === 'tls'
    args[kebabCase(name)] = { type: boolean ? 'boolean' : 'string', description: help(name, field) + (boolean ? ` (--no-${kebabCase(name)} for false)` : '') }
  }
  return args
}

/** The flags given, as config values by field name; an unknown flag is refused with the role's list. */
export function flagValues(args: Record<string, unknown>, fields: ConfigFields, role: string): Record<string, unknown> {
  const defined = flagArgs(fields)
  const flags: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(args)) {
    if (key === '_' || OWN_FLAGS.has(key) || value === undefined) continue
    if (Object.hasOwn(defined, key)) {
      flags[camelCase(key)] = value
    } else if (!Object.hasOwn(defined, kebabCase(key))) {
      throw new ThreshError({
        code: 'flag_unknown',
        message: `thresh run --role ${role} has no flag --${key}; its flags: ${Object.keys(defined).map((k) => `--${k}`).join(', ')}.`,
      })
    }
  }
  return flags
}
