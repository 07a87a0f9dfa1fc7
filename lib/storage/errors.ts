// The storage errors the API maps to HTTP statuses: `conflict` (409) and `storage_unavailable` (503).
import { ThreshError } from '../../core/index.ts'

export function conflict(message: string, plugin?: string, cause?: unknown): ThreshError {
  return new ThreshError({ code: 'conflict', status: 409, message, plugin, cause })
}

export function unavailable(message: string, plugin?: string, cause?: unknown): ThreshError {
  return new ThreshError({ code: 'storage_unavailable', status: 503, message, plugin, cause })
}
