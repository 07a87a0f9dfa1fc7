// The `health` service the server-health plugin provides: a plugin whose dependency can fail (the
// hub's database) registers a probe, and `/health` reports Degraded while any probe fails.
import type {} from '../core/index.ts'

export interface HealthChecks {
  /** Runs `probe` on every `/health`; it fails by throwing, and its error's message is shown. Returns `off`. */
  check(name: string, probe: () => Promise<void>): () => void
}

declare module '../core/index.ts' {
  interface ThreshServices {
    health: HealthChecks
  }
}
