// Runs a store's metrics rollup and retention on a timer for as long as the storage plugin lives.
import type { Logger } from '../../core/index.ts'
import type { FleetStore } from './types.ts'

export function startMaintenance(store: FleetStore, intervalMs: number, logger?: Logger): () => Promise<void> {
  let running: Promise<unknown> | undefined
  const tick = () => {
    if (running) return
    running = store
      .maintainMetrics()
      .catch((error) => logger?.warn('Metrics maintenance failed; it will retry.', error))
      .finally(() => (running = undefined))
  }
  const timer = setInterval(tick, intervalMs)
  ;(timer as { unref?: () => void }).unref?.()
  return async () => {
    clearInterval(timer)
    await running
  }
}
