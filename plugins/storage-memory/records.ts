// Helpers for records held in plain maps: detached copies, patches, time and ordering, shared by
// every aggregate of the memory store.

/**
 * A detached copy of what the store holds (plain JSON-like records): a recursive copy is ~6x cheaper
 * than structuredClone for them, which a command round trip paid three times on the hub.
 */
export function copy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(copy) as T
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return structuredClone(value)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key])
  return out as T
}
export const time = (value: string): number => Date.parse(value)
export const scoped = (accountId: string, id: string): string => `${accountId}\u0000${id}`

/** Sets the fields a patch names; `null` clears one, `undefined` leaves it alone. */
export function applyPatch<T extends object>(target: T, patch: object): void {
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue
    if (value === null) delete (target as Record<string, unknown>)[field]
    else (target as Record<string, unknown>)[field] = structuredClone(value)
  }
}

export function byTime<T>(field: keyof T): (a: T, b: T) => number {
  return (a, b) => String(a[field]).localeCompare(String(b[field]))
}
