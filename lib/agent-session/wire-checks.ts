// Checks what an agent (or a mid-tier relaying for one) sends against CONTRACT §4's wire shapes before
// anything is stored: one tenant's bad report must never reach a shared write. Every transport uses it.
import type { AgentEvent, AgentInfo, CommandResult, MetricsData, StackServiceStatusUpdate } from './protocol.ts'

/** A refused report: `status` 400, `code` names the shape, the message names the field path. */
export class WireShapeError extends Error {
  readonly status = 400
  readonly code: string
  readonly path: string
  constructor(code: string, path: string, problem: string) {
    super(`${path} ${problem}`)
    this.name = 'WireShapeError'
    this.code = code
    this.path = path
  }
}

/** How far a report's timestamp may be from the server's clock. */
export const MAX_FUTURE_MS = 5 * 60_000
export const MAX_PAST_MS = 30 * 24 * 60 * 60_000

const ID_CHARS = 256
const TEXT_CHARS = 1024
const OUTPUT_CHARS = 256 * 1024
const MAX_DISKS = 256
const MAX_CORES = 4096
const MAX_CONTAINERS = 2000
// Extra fields beyond the contract are kept (registration stores them), so they are bounded too.
const EXTRA_DEPTH = 6
const EXTRA_KEYS = 256
// Sizes beyond an exabyte are junk, and stay far inside PostgreSQL's `real`.
const MAX_SIZE = 1e12
// Measured percentages overshoot 100 a little (sampling jitter); they are clamped to 100.
const PERCENT_SLACK = 110

// U+0000 cannot be stored in PostgreSQL text or jsonb; an unpaired surrogate cannot be stored in jsonb.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

interface Checker {
  code: string
  fail(path: string, problem: string): never
}

const checker = (code: string): Checker => ({
  code,
  fail(path, problem) {
    throw new WireShapeError(code, path, problem)
  },
})

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function object(ch: Checker, value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value)) ch.fail(path, 'must be a JSON object.')
  return value
}

function string(ch: Checker, value: unknown, path: string, max: number): void {
  if (typeof value !== 'string') ch.fail(path, 'must be a string.')
  if (value.length > max) ch.fail(path, `is longer than ${max} characters.`)
  if (UNSTORABLE.test(value)) ch.fail(path, 'contains U+0000 or an unpaired surrogate, which cannot be stored.')
}

function optionalString(ch: Checker, obj: Record<string, unknown>, key: string, path: string, max = TEXT_CHARS): void {
  if (obj[key] !== undefined && obj[key] !== null) string(ch, obj[key], `${path}.${key}`, max)
}

function requiredId(ch: Checker, obj: Record<string, unknown>, key: string, path: string): void {
  string(ch, obj[key], `${path}.${key}`, ID_CHARS)
  if (obj[key] === '') ch.fail(`${path}.${key}`, 'must not be empty.')
}

function numberAt(ch: Checker, value: unknown, where: string, min: number, max: number, unit: string): void {
  if (value === undefined || value === null) return
  if (typeof value !== 'number' || !Number.isFinite(value)) ch.fail(where, 'must be a finite number.')
  if (value < min || value > max) ch.fail(where, `must be ${unit} between ${min} and ${max} (got ${value}).`)
}

const number = (ch: Checker, obj: Record<string, unknown>, key: string, path: string, min: number, max: number, unit: string) =>
  numberAt(ch, obj[key], `${path}.${key}`, min, max, unit)

const size = (ch: Checker, obj: Record<string, unknown>, key: string, path: string) => number(ch, obj, key, path, 0, MAX_SIZE, 'a size')
const count = (ch: Checker, obj: Record<string, unknown>, key: string, path: string, max: number) => number(ch, obj, key, path, 0, max, 'a count')

function percent(ch: Checker, value: unknown, where: string): unknown {
  numberAt(ch, value, where, 0, PERCENT_SLACK, 'a percentage')
  return typeof value === 'number' && value > 100 ? 100 : value
}

function array(ch: Checker, value: unknown, path: string, max: number): unknown[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) ch.fail(path, 'must be a list.')
  if (value.length > max) ch.fail(path, `has more than ${max} entries.`)
  return value
}

function timestamp(ch: Checker, obj: Record<string, unknown>, key: string, path: string, now: number): void {
  const value = obj[key]
  if (value === undefined || value === null) return
  const where = `${path}.${key}`
  string(ch, value, where, 64)
  const at = Date.parse(value as string)
  if (!Number.isFinite(at)) ch.fail(where, 'is not a date (use ISO 8601, e.g. 2025-01-31T12:00:00Z).')
  if (at > now + MAX_FUTURE_MS) {
    ch.fail(where, `is more than ${MAX_FUTURE_MS / 60_000} minutes ahead of the server's clock; the report was refused (check the node's clock).`)
  }
  if (at < now - MAX_PAST_MS) ch.fail(where, `is more than ${MAX_PAST_MS / 86_400_000} days old; the report was refused.`)
}

// Fields the contract does not name: any JSON, but storable and bounded.
function extra(ch: Checker, value: unknown, path: string, depth: number): void {
  if (typeof value === 'string') return string(ch, value, path, TEXT_CHARS * 4)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) ch.fail(path, 'must be a finite number.')
    return
  }
  if (value === null || typeof value === 'boolean' || value === undefined) return
  if (depth >= EXTRA_DEPTH) ch.fail(path, `nests deeper than ${EXTRA_DEPTH} levels.`)
  if (Array.isArray(value)) {
    if (value.length > EXTRA_KEYS) ch.fail(path, `has more than ${EXTRA_KEYS} entries.`)
    value.forEach((item, i) => extra(ch, item, `${path}[${i}]`, depth + 1))
    return
  }
  if (!isObject(value)) ch.fail(path, 'is not JSON.')
  const keys = Object.keys(value)
  if (keys.length > EXTRA_KEYS) ch.fail(path, `has more than ${EXTRA_KEYS} fields.`)
  for (const key of keys) {
    string(ch, key, `${path} (a field name)`, ID_CHARS)
    extra(ch, value[key], `${path}.${key}`, depth + 1)
  }
}

function extras(ch: Checker, obj: Record<string, unknown>, path: string, known: readonly string[]): void {
  const keys = Object.keys(obj)
  if (keys.length > EXTRA_KEYS) ch.fail(path, `has more than ${EXTRA_KEYS} fields.`)
  for (const key of keys) {
    if (known.includes(key)) continue
    string(ch, key, `${path} (a field name)`, ID_CHARS)
    extra(ch, obj[key], `${path}.${key}`, 1)
  }
}

const AGENT_INFO_TEXT = ['hostname', 'platform', 'osVersion', 'threshVersion', 'ipAddress', 'architecture', 'containerRuntime', 'registeredAt'] as const
const AGENT_INFO_KNOWN = ['agentId', ...AGENT_INFO_TEXT, 'cpuCores', 'ramTotalGb', 'diskTotalGb']

/** Checks a registration; throws a WireShapeError naming the first bad field. */
export function checkAgentInfo(value: unknown, path = 'AgentInfo'): AgentInfo {
  const ch = checker('invalid_agent_info')
  const info = object(ch, value, path)
  requiredId(ch, info, 'agentId', path)
  for (const key of AGENT_INFO_TEXT) optionalString(ch, info, key, path)
  count(ch, info, 'cpuCores', path, 1_000_000)
  size(ch, info, 'ramTotalGb', path)
  size(ch, info, 'diskTotalGb', path)
  extras(ch, info, path, AGENT_INFO_KNOWN)
  return info as unknown as AgentInfo
}

const METRICS_KNOWN = [
  'agentId', 'timestamp', 'cpuPercent', 'cpuPerCore', 'memoryUsedMB', 'memoryTotalMB', 'diskUsedGB', 'diskTotalGB',
  'disks', 'containersRunning', 'containers', 'environmentCount', 'uptimeSeconds',
  'loadAverage', 'swapUsedMB', 'swapTotalMB', 'network', 'diskIo', 'temperatures',
]
const MAX_HOST_ENTRIES = 256
const RATE_MAX = 1e13

/** The optional figures beyond the original MetricsData (HostExtras). */
function checkHostExtras(ch: Checker, m: Record<string, unknown>, path: string): void {
  const load = array(ch, m.loadAverage, `${path}.loadAverage`, 3)
  load?.forEach((v, i) => numberAt(ch, v, `${path}.loadAverage[${i}]`, 0, 1e6, 'a load average'))
  size(ch, m, 'swapUsedMB', path)
  size(ch, m, 'swapTotalMB', path)
  const entries = (key: string, name: string, numbers: string[]) =>
    array(ch, m[key], `${path}.${key}`, MAX_HOST_ENTRIES)?.forEach((item, i) => {
      const where = `${path}.${key}[${i}]`
      const e = object(ch, item, where)
      string(ch, e[name], `${where}.${name}`, ID_CHARS)
      for (const n of numbers) numberAt(ch, e[n], `${where}.${n}`, n === 'celsius' ? -273 : 0, n === 'celsius' ? 1000 : RATE_MAX, n === 'celsius' ? 'degrees Celsius' : 'bytes per second')
      extras(ch, e, where, [name, ...numbers])
    })
  entries('network', 'interface', ['rxBytesPerSec', 'txBytesPerSec'])
  entries('diskIo', 'device', ['readBytesPerSec', 'writeBytesPerSec'])
  entries('temperatures', 'sensor', ['celsius'])
}

/**
 * Checks one metrics report. Percentages a little over 100 are clamped to 100; timestamps more than
 * MAX_FUTURE_MS ahead or MAX_PAST_MS behind `now` are refused.
 */
export function checkMetricsData(value: unknown, now = Date.now(), path = 'MetricsData'): MetricsData {
  const ch = checker('invalid_metrics')
  const m = object(ch, value, path)
  optionalString(ch, m, 'agentId', path, ID_CHARS)
  timestamp(ch, m, 'timestamp', path, now)
  if (m.cpuPercent !== undefined) m.cpuPercent = percent(ch, m.cpuPercent, `${path}.cpuPercent`)
  const cores = array(ch, m.cpuPerCore, `${path}.cpuPerCore`, MAX_CORES)
  cores?.forEach((core, i) => (cores[i] = percent(ch, core, `${path}.cpuPerCore[${i}]`)))
  for (const key of ['memoryUsedMB', 'memoryTotalMB', 'diskUsedGB', 'diskTotalGB']) size(ch, m, key, path)
  const disks = array(ch, m.disks, `${path}.disks`, MAX_DISKS)
  disks?.forEach((disk, i) => {
    const where = `${path}.disks[${i}]`
    const d = object(ch, disk, where)
    optionalString(ch, d, 'mount', where)
    size(ch, d, 'usedGB', where)
    size(ch, d, 'totalGB', where)
    extras(ch, d, where, ['mount', 'usedGB', 'totalGB'])
  })
  count(ch, m, 'containersRunning', path, 1_000_000)
  const containers = array(ch, m.containers, `${path}.containers`, MAX_CONTAINERS)
  containers?.forEach((c, i) => extra(ch, c, `${path}.containers[${i}]`, 1))
  count(ch, m, 'environmentCount', path, 1_000_000)
  number(ch, m, 'uptimeSeconds', path, 0, 1e11, 'a duration in seconds')
  checkHostExtras(ch, m, path)
  extras(ch, m, path, METRICS_KNOWN)
  return m as unknown as MetricsData
}

/** Checks a command's result. Its timestamp is only displayed, so any parseable date is accepted. */
export function checkCommandResult(value: unknown, path = 'CommandResult'): CommandResult {
  const ch = checker('invalid_command_result')
  const r = object(ch, value, path)
  optionalString(ch, r, 'agentId', path, ID_CHARS)
  requiredId(ch, r, 'commandId', path)
  if (r.status !== undefined && r.status !== 'success' && r.status !== 'error') ch.fail(`${path}.status`, 'must be "success" or "error".')
  if (r.success !== undefined && typeof r.success !== 'boolean') ch.fail(`${path}.success`, 'must be true or false.')
  optionalString(ch, r, 'output', path, OUTPUT_CHARS)
  optionalString(ch, r, 'error', path, OUTPUT_CHARS)
  optionalString(ch, r, 'timestamp', path, 64)
  if (typeof r.timestamp === 'string' && r.timestamp !== '' && !Number.isFinite(Date.parse(r.timestamp))) ch.fail(`${path}.timestamp`, 'is not a date.')
  number(ch, r, 'durationMs', path, 0, 1e12, 'a duration in ms')
  extras(ch, r, path, ['agentId', 'commandId', 'status', 'success', 'output', 'error', 'timestamp', 'durationMs'])
  return r as unknown as CommandResult
}

/** Checks a service status update. */
export function checkStatusUpdate(value: unknown, path = 'StackServiceStatusUpdate'): StackServiceStatusUpdate {
  const ch = checker('invalid_status_update')
  const u = object(ch, value, path)
  requiredId(ch, u, 'stackId', path)
  requiredId(ch, u, 'serviceName', path)
  string(ch, u.status, `${path}.status`, ID_CHARS)
  optionalString(ch, u, 'errorMessage', path, OUTPUT_CHARS)
  extras(ch, u, path, ['stackId', 'serviceName', 'status', 'errorMessage'])
  return u as unknown as StackServiceStatusUpdate
}

const EVENT_TYPES = ['container_start', 'container_die', 'container_oom', 'container_health', 'container_restart_loop']
const EVENT_KNOWN = ['type', 'at', 'containerId', 'container', 'stack', 'service', 'image', 'exitCode', 'requested', 'health', 'restarts', 'windowSeconds']
/** Most events one call may carry. */
export const MAX_EVENTS = 1000

/** Checks a list of agent events; the whole list is refused if one is bad (an agent sends only its own). */
export function checkAgentEvents(value: unknown, now = Date.now(), path = 'AgentEvent[]'): AgentEvent[] {
  const ch = checker('invalid_events')
  const list = array(ch, value, path, MAX_EVENTS) ?? ch.fail(path, 'must be a list.')
  list.forEach((item, i) => {
    const where = `${path}[${i}]`
    const e = object(ch, item, where)
    if (typeof e.type !== 'string' || !EVENT_TYPES.includes(e.type)) ch.fail(`${where}.type`, `must be one of ${EVENT_TYPES.join(', ')}.`)
    if (e.at === undefined) ch.fail(`${where}.at`, 'is required.')
    timestamp(ch, e, 'at', where, now)
    for (const key of ['containerId', 'container', 'stack', 'service', 'image', 'health']) optionalString(ch, e, key, where, ID_CHARS)
    number(ch, e, 'exitCode', where, -1e6, 1e6, 'an exit code')
    if (e.requested !== undefined && typeof e.requested !== 'boolean') ch.fail(`${where}.requested`, 'must be true or false.')
    count(ch, e, 'restarts', where, 1_000_000)
    number(ch, e, 'windowSeconds', where, 0, 1e9, 'a duration in seconds')
    extras(ch, e, where, EVENT_KNOWN)
  })
  return list as AgentEvent[]
}
