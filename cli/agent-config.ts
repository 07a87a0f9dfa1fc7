// The agent's settings in `$THRESH_HOME/agent.json` (mode 600): the keys are the agent role's plugin
// settings in kebab-case (CONTRACT §7), validated by the same field declarations `thresh run` uses.
// Values are stored under the field names (midtierUrl, metricsInterval, ...) so the same file works
// as `thresh run --role agent --config $THRESH_HOME/agent.json`.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { camelCase, coerceField, describeField, formatDuration, kebabCase, ThreshError, type ConfigField, type ConfigFields } from '../core/index.ts'
import { loadRole } from '../roles/index.ts'
import { baseFields, roleFields } from '../roles/start-role.ts'
import { threshHome } from './credentials.ts'
import { maskSecret } from './table.ts'

type Value = string | number | boolean | string[]

/**
 * The settings the agent role's plugins declare, by key (`metrics-interval`), in plugin order; not
 * server-health's, which every role shares and which are about serving, not about the agent.
 */
export async function agentConfigKeys(): Promise<Record<string, { field: string; spec: ConfigField }>> {
  const common = baseFields()
  const role = await loadRole('agent')
  const fields: ConfigFields = await roleFields(role, { except: ['server-health'] })
  const keys: Record<string, { field: string; spec: ConfigField }> = {}
  for (const [field, spec] of Object.entries(fields)) {
    // The role's own fields (its status socket or port) are about serving too: flags, not agent.json.
    if (!Object.hasOwn(common, field) && !Object.hasOwn(role.fields ?? {}, field)) keys[kebabCase(field)] = { field, spec }
  }
  return keys
}

export function agentConfigPath(): string {
  return join(threshHome(), 'agent.json')
}

async function lookup(key: string): Promise<{ field: string; spec: ConfigField }> {
  const keys = await agentConfigKeys()
  const found = Object.hasOwn(keys, key) ? keys[key] : undefined
  if (!found) {
    throw new ThreshError({ code: 'agent_config_key_unknown', status: 400, message: `Unknown agent config key '${key}'; valid keys: ${Object.keys(keys).join(', ')}.` })
  }
  return found
}

/** The whole file, including fields other parts of the agent keep there (agent id, ...), which are left alone. */
function readFile(): Record<string, unknown> {
  const path = agentConfigPath()
  if (!existsSync(path)) return {}
  try {
    const data = JSON.parse(readFileSync(path, 'utf8'))
    if (data && typeof data === 'object' && !Array.isArray(data)) return data as Record<string, unknown>
  } catch (cause) {
    throw new ThreshError({ code: 'agent_config_invalid', message: `${path} is not valid JSON; fix or delete it.`, cause })
  }
  throw new ThreshError({ code: 'agent_config_invalid', message: `${path} must hold a JSON object; fix or delete it.` })
}

function writeFile(data: Record<string, unknown>): void {
  mkdirSync(threshHome(), { recursive: true, mode: 0o700 })
  const path = agentConfigPath()
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 })
  chmodSync(temp, 0o600)
  renameSync(temp, path)
}

/** A duration is kept as its text (`15s`), the way a person wrote it; everything else as its value. */
function stored(spec: ConfigField, raw: string, value: unknown): Value {
  if (spec.type !== 'duration') return value as Value
  const text = raw.trim()
  return /^\d+(\.\d+)?$/.test(text) ? `${text}s` : text.replace(/\s+/g, '')
}

/** Validates and stores one key; returns the value as stored. */
export async function setAgentConfig(key: string, raw: string): Promise<Value> {
  const { field, spec } = await lookup(key)
  const result = coerceField(spec, spec.type === 'string' ? raw.trim() : raw, true)
  if ('error' in result) {
    throw new ThreshError({ code: 'agent_config_value_invalid', status: 400, message: `Invalid value '${spec.secret ? maskSecret(raw) : raw}' for ${key}; valid values: ${describeField(spec)}.` })
  }
  const data = readFile()
  data[field] = stored(spec, raw, result.value)
  writeFile(data)
  return data[field] as Value
}

export async function unsetAgentConfig(key: string): Promise<boolean> {
  const { field } = await lookup(key)
  const data = readFile()
  if (!(field in data)) return false
  delete data[field]
  writeFile(data)
  return true
}

export interface AgentConfigEntry {
  key: string
  /** Masked for secrets; undefined when neither set nor defaulted. */
  value: Value | undefined
  source: 'set' | 'default' | 'unset'
  description: string
}

function shown(spec: ConfigField, value: unknown): Value {
  if (spec.secret && typeof value === 'string') return maskSecret(value)
  if (spec.type === 'duration' && typeof value === 'number') return formatDuration(value)
  return value as Value
}

function entry(key: string, field: string, spec: ConfigField, data: Record<string, unknown>): AgentConfigEntry {
  const value = data[field] ?? data[camelCase(key)]
  if (value !== undefined && value !== null && value !== '') return { key, value: shown(spec, value), source: 'set', description: spec.description }
  if (spec.default !== undefined) return { key, value: shown(spec, spec.default), source: 'default', description: spec.description }
  return { key, value: undefined, source: 'unset', description: spec.description }
}

export async function getAgentConfig(key: string): Promise<AgentConfigEntry> {
  const { field, spec } = await lookup(key)
  return entry(key, field, spec, readFile())
}

export async function listAgentConfig(): Promise<AgentConfigEntry[]> {
  const data = readFile()
  return Object.entries(await agentConfigKeys()).map(([key, { field, spec }]) => entry(key, field, spec, data))
}

/** Shown after a set: secrets masked. */
export async function displayValue(key: string, value: Value): Promise<string> {
  return String(shown((await lookup(key)).spec, value))
}
