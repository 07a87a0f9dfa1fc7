// The agent's settings in `$THRESH_HOME/agent.json` (mode 600): the keys of CONTRACT §7, validated.
// Fields are stored under the agent role's config names (midtierUrl, metricsInterval, ...) so the same
// file works as `thresh run --role agent --config $THRESH_HOME/agent.json`.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { parseDuration, ThreshError } from '../core/index.ts'
import { threshHome } from './credentials.ts'
import { maskSecret } from './table.ts'

type Value = string | boolean

interface KeySpec {
  field: string
  description: string
  /** The valid values, as shown when a value is refused. */
  valid: string
  default?: Value
  secret?: boolean
  parse(raw: string): Value | undefined
}

const url = (raw: string) => {
  try {
    const u = new URL(raw.trim())
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href.replace(/\/+$/, '') : undefined
  } catch {
    return undefined
  }
}
const agentKey = (raw: string) => (/^thresh_live_[a-z0-9]{1,32}_[A-Za-z0-9]{16,128}$/.test(raw.trim()) ? raw.trim() : undefined)
const bool = (raw: string) => (/^(true|yes|on|1)$/i.test(raw.trim()) ? true : /^(false|no|off|0)$/i.test(raw.trim()) ? false : undefined)
const duration = (min: number) => (raw: string) => {
  const text = raw.trim()
  const ms = parseDuration(text)
  if (ms === undefined || ms < min) return undefined
  return /^\d+(\.\d+)?$/.test(text) ? `${text}s` : text.replace(/\s+/g, '')
}

const durationHelp = (min: string) => `a duration of at least ${min}, such as 30s, 5m or 1h (a bare number means seconds)`

export const agentConfigKeys: Record<string, KeySpec> = {
  'midtier-url': { field: 'midtierUrl', description: 'the mid-tier (or hub) the agent connects to', valid: 'an http:// or https:// URL', parse: url },
  'fallback-url': { field: 'fallbackUrl', description: 'where to go when the primary is unreachable', valid: 'an http:// or https:// URL', parse: url },
  'api-key': { field: 'apiKey', description: 'the agent key for midtier-url', valid: 'an agent key, thresh_live_<account>_<secret>', secret: true, parse: agentKey },
  'fallback-api-key': { field: 'fallbackApiKey', description: 'the agent key for fallback-url', valid: 'an agent key, thresh_live_<account>_<secret>', secret: true, parse: agentKey },
  'tls-verify': { field: 'tlsVerify', description: 'verify server certificates', valid: 'true or false', default: true, parse: bool },
  transport: {
    field: 'transport',
    description: 'auto tries SignalR then REST polling',
    valid: 'auto, signalr or rest',
    default: 'auto',
    parse: (raw) => (['auto', 'signalr', 'rest'].includes(raw.trim().toLowerCase()) ? raw.trim().toLowerCase() : undefined),
  },
  'auto-failover': { field: 'autoFailover', description: 'move to fallback-url when the primary is down', valid: 'true or false', default: false, parse: bool },
  'failback-delay': { field: 'failbackDelay', description: 'wait before going back to the primary', valid: durationHelp('0s'), default: '5m', parse: duration(0) },
  'metrics-interval': { field: 'metricsInterval', description: 'how often metrics are sent', valid: durationHelp('1s'), default: '30s', parse: duration(1000) },
  'reconnect-delay': { field: 'reconnectDelay', description: 'wait between reconnect attempts', valid: durationHelp('100ms'), default: '5s', parse: duration(100) },
  'node-name': {
    field: 'nodeName',
    description: 'the name this node reports (default: its hostname)',
    valid: 'a host name: letters, digits, dot, dash and underscore, up to 63 characters',
    parse: (raw) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(raw.trim()) ? raw.trim() : undefined),
  },
}

const validKeys = () => Object.keys(agentConfigKeys).join(', ')

export function agentConfigPath(): string {
  return join(threshHome(), 'agent.json')
}

function spec(key: string): KeySpec {
  const found = Object.hasOwn(agentConfigKeys, key) ? agentConfigKeys[key] : undefined
  if (!found) throw new ThreshError({ code: 'agent_config_key_unknown', status: 400, message: `Unknown agent config key '${key}'; valid keys: ${validKeys()}.` })
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

/** Validates and stores one key; returns the value as stored. */
export function setAgentConfig(key: string, raw: string): Value {
  const s = spec(key)
  const value = s.parse(raw)
  if (value === undefined) {
    throw new ThreshError({ code: 'agent_config_value_invalid', status: 400, message: `Invalid value '${s.secret ? maskSecret(raw) : raw}' for ${key}; valid values: ${s.valid}.` })
  }
  const data = readFile()
  data[s.field] = value
  writeFile(data)
  return value
}

export function unsetAgentConfig(key: string): boolean {
  const s = spec(key)
  const data = readFile()
  if (!(s.field in data)) return false
  delete data[s.field]
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

function entry(key: string, s: KeySpec, data: Record<string, unknown>): AgentConfigEntry {
  const stored = data[s.field]
  if (typeof stored === 'string' || typeof stored === 'boolean') {
    return { key, value: s.secret && typeof stored === 'string' ? maskSecret(stored) : stored, source: 'set', description: s.description }
  }
  if (s.default !== undefined) return { key, value: s.default, source: 'default', description: s.description }
  return { key, value: undefined, source: 'unset', description: s.description }
}

export function getAgentConfig(key: string): AgentConfigEntry {
  return entry(key, spec(key), readFile())
}

export function listAgentConfig(): AgentConfigEntry[] {
  const data = readFile()
  return Object.entries(agentConfigKeys).map(([key, s]) => entry(key, s, data))
}

/** Shown after a set: secrets masked. */
export function displayValue(key: string, value: Value): string {
  return spec(key).secret && typeof value === 'string' ? maskSecret(value) : String(value)
}
