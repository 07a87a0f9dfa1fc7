// Batched writes that one bad row cannot block: when the database refuses a value in a batch, the rows
// are written one by one and only those it still refuses are dropped, so the rest of the fleet is stored.

/** SQLSTATE class 22 (data exception): this value cannot be stored, and retrying will not change that. */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('22')
}

/**
 * Runs `write` on all rows; on a data error, on each row alone. Rows still refused are handed to
 * `dropped` and left out. Any other error (the database is down) is thrown: the caller keeps the rows.
 * Resolves with what `write` counted for the rows that went in.
 */
export async function writeIsolatingBadRows<T>(rows: T[], write: (rows: T[]) => Promise<number>, dropped: (row: T, error: unknown) => void): Promise<number> {
  try {
    return await write(rows)
  } catch (error) {
    if (!isDataError(error)) throw error
    if (rows.length === 1) {
      dropped(rows[0]!, error)
      return 0
    }
  }
  let written = 0
  for (const row of rows) {
    try {
      written += await write([row])
    } catch (error) {
      if (!isDataError(error)) throw error
      dropped(row, error)
    }
  }
  return written
}
