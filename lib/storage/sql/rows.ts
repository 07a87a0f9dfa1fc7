// Turning database rows into store records and values into parameters, the same way for every table,
// so records read back from SQL compare equal to the ones the memory store holds.
export type Row = Record<string, any>

export function iso(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()
}

export function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value)
}

export function opt<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value
}

/** Drops undefined fields so records compare equal across stores. */
export function clean<T extends object>(record: T): T {
  for (const key of Object.keys(record) as Array<keyof T>) if (record[key] === undefined) delete record[key]
  return record
}
