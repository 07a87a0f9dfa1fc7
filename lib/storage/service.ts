// Declares the `storage` service every storage plugin provides: `ctx.use('storage')` is a FleetStore.
import type { FleetStore } from './types.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    storage: FleetStore
  }
}
