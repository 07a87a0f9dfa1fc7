// `thresh run` flags made from the role's settings: every scalar field is `--<kebab-name>`, described
// with its default and environment variable.
import type { ArgsDef } from 'citty'
import { describeField, envName, formatDuration, kebabCase, ThreshError, type ConfigField, type ConfigFields } from '../core/index.ts'

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

/**
 * The flags given, as config values by field name. A flag the role does not know may belong to a
 * plugin loaded from the config file: it is passed on (as `--name=value`), and the boot's strict
 * pass refuses it by name if no plugin declares it.
 */
export function flagValues(args: Record<string, unknown>, fields: ConfigFields): Record<string, unknown> {
  const defined = flagArgs(fields)
  const flags: Record<string, unknown> = {}
  const stray = (args._ as unknown[] | undefined) ?? []
  if (stray.length > 0) {
    throw new ThreshError({ code: 'flag_invalid', message: `Unexpected argument '${String(stray[0])}': give settings as --name value (or --name=value for a plugin loaded from config).` })
  }
  for (const [key, value] of Object.entries(args)) {
    if (key === '_' || OWN_FLAGS.has(key) || value === undefined) continue
    // citty also sets a camelCase twin of each kebab flag; take the kebab one.
    if (!Object.hasOwn(defined, key) && Object.hasOwn(defined, kebabCase(key))) continue
    if (!Object.hasOwn(defined, key) && /[A-Z]/.test(key) && Object.hasOwn(args, kebabCase(key))) continue
    flags[key] = value
  }
  return flags
}
