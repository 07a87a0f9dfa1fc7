// What the route groups share: the plain reply, the 400 error, the DNS-label name rule and the
// readers of query-string values (flags, times, limits).
import { ThreshError } from '../../../core/index.ts'
import type { Reply } from './route-def.ts'

export const ok = (body: unknown, status = 200): Reply => ({ status, body })
export const bad = (message: string): ThreshError => new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message })
/** A 400 naming the input at fault (`query.to`), in the message and in `details` as the schema layer does. */
export const badField = (path: string, problem: string): ThreshError =>
  new ThreshError({ code: 'invalid_request', status: 400, plugin: 'hub-api', message: `Invalid request: ${path}: ${problem}.`, details: [`${path}: ${problem}`] })

export const NAME = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
export const NAME_HINT = 'a DNS label: lowercase letters, digits and -, at most 63 characters'

export const flag = (value: string | undefined, fallback = false): boolean => {
  if (value === undefined || value === '') return fallback
  if (['1', 'true', 'yes'].includes(value.toLowerCase())) return true
  if (['0', 'false', 'no'].includes(value.toLowerCase())) return false
  throw bad(`Expected true or false, got '${value}'.`)
}

// Times the stores can hold and people mean: JavaScript dates reach year 275760, PostgreSQL's do not.
const EARLIEST = Date.UTC(1970, 0, 1)
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** `?name=`: ISO-8601 or epoch milliseconds, between 1970 and the end of 9999. */
export function time(value: string | undefined, name: string, fallback: Date): Date {
  if (value === undefined || value === '') return fallback
  const date = /^\d{1,16}$/.test(value) ? new Date(Number(value)) : new Date(value)
  const shown = JSON.stringify(value.slice(0, 40))
  if (Number.isNaN(date.getTime())) throw badField(`query.${name}`, `must be an ISO-8601 time or epoch milliseconds, got ${shown}`)
  if (date.getTime() < EARLIEST || date.getTime() > LATEST) throw badField(`query.${name}`, `must be between 1970-01-01 and 9999-12-31, got ${shown}`)
  return date
}

/** `?limit=` of the list routes: 100 when absent, else a whole number from 1 to 1000. */
export function limit(value: string | undefined): number {
  const n = value ? Number(value) : 100
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw bad('limit must be a whole number from 1 to 1000.')
  return n
}
