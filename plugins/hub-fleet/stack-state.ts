// What a stack's stored record says of its state: whether a command still works on it, and the record
// as it reads once no deploy is in flight.
import type { StackRecord } from '../../lib/storage/types.ts'

/** Statuses a stack only has while a command works on it; left alone they would never change. */
export const UNSETTLED = new Set(['deploying', 'updating', 'stopping', 'starting'])

/** The record without the deploy-in-flight part: what a stack reads as once no deploy runs. */
export function withoutRollback(stack: StackRecord): StackRecord {
  const { rollbackTo: _, ...rest } = stack
  return rest
}
