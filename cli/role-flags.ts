// `thresh run` flags made from the role's settings: every scalar field is `--<kebab-name>`, described
// with its default and environment variable.
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

/**
 * The flags given, as config values by field name. A flag the role does not know may belong to a
 * plugin loaded from the config file: it is passed on, read from the raw arguments (`--name value` or
 * `--name=value`), and the boot's strict pass refuses it by name if no plugin declares it.
 */
export function flagValues(args: Record<string, unknown>, rawArgs: string[], fields: ConfigFields): Record<string, unknown> {
  const defined = flagArgs(fields)
  const flags: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(args)) {
    if (Object.hasOwn(defined, key) && value !== undefined) flags[key] = value
  }
  // A list given as a repeated flag (`--hub-url A --hub-url B`) is every value, not the last one.
  for (const key of Object.keys(flags)) {
    if (fields[camelCase(key)]?.type !== 'list') continue
    const values = rawArgs.flatMap((arg, i) => (arg === `--${key}` && rawArgs[i + 1] !== undefined ? [rawArgs[i + 1]!] : arg.startsWith(`--${key}=`) ? [arg.slice(key.length + 3)] : []))
    if (values.length > 1) flags[key] = values.join(',')
  }
  const known = (name: string) => OWN_FLAGS.has(name) || Object.hasOwn(defined, name) || (name.startsWith('no-') && Object.hasOwn(defined, name.slice(3)))
  for (let i = 0; i < rawArgs.length; i++) {
    const match = /^--([a-z][a-zA-Z0-9-]*)(?:=(.*))?$/s.exec(rawArgs[i]!)
    if (!match) {
      if (i > 0 && !rawArgs[i - 1]!.startsWith('--')) {
        throw new ThreshError({ code: 'flag_invalid', message: `Unexpected argument '${rawArgs[i]}': give settings as --name value.` })
      }
      continue
    }
    const [, name, inline] = match as unknown as [string, string, string | undefined]
    if (known(name)) {
      if (inline === undefined && defined[name]?.type !== 'boolean' && rawArgs[i + 1] !== undefined && !rawArgs[i + 1]!.startsWith('--')) i++
      continue
    }
    const next = rawArgs[i + 1]
    if (inline !== undefined) flags[name] = inline
    else if (next !== undefined && !next.startsWith('--')) {
      flags[name] = next
      i++
    } else flags[name] = true
  }
  return flags
}

/**
 * A sentence for each secret given as a flag: every local user can read a command line (`ps`,
 * /proc), so it still works but the user is told where to put it instead. A URL is secret only
 * when it carries a password.
 */
export function secretsOnCommandLine(flags: Record<string, unknown>, fields: ConfigFields): string[] {
  const warnings: string[] = []
  for (const [key, value] of Object.entries(flags)) {
    const name = camelCase(key)
    const field = fields[name]
    if (!field?.secret || typeof value !== 'string') continue
    if (field.type === 'url' && !/^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(value)) continue
    const instead = [Object.hasOwn(fields, `${name}File`) ? `--${kebabCase(name)}-file PATH` : undefined, envName(name, field)].filter(Boolean)
    warnings.push(`--${kebabCase(name)} on the command line is visible to every user of this machine (ps); use ${instead.join(' or ')} instead.`)
  }
  return warnings
}
