// Random ids for records: lowercase letters and digits, no `_` (ids sit inside tokens).
import { randomBytes } from 'node:crypto'

export function newId(bytes = 9): string {
  return randomBytes(bytes).toString('hex')
}
