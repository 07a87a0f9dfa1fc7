// Metrics ingest: samples are buffered and written in batches (one store call per batch, never one
// per sample), flushed on size or time and on shutdown.
import type { FleetStore, MetricsSampleInput } from '../../lib/storage/types.ts'

export interface MetricsWriter {
  add(accountId: string, sample: MetricsSampleInput): void
  /**
   * Writes these samples now (sharing the writers' concurrency) and resolves once the store has them;
   * rejects if it could not, so the sender keeps them and sends again (the store ignores duplicates).
   */
  write(accountId: string, samples: MetricsSampleInput[]): Promise<void>
  flush(): Promise<void>
  /** Samples accepted in the last 10 s, per second. */
  rate(): number
  readonly total: number
  readonly dropped: number
  close(): Promise<void>
}

export function createMetricsWriter(
  store: FleetStore,
  options: { batchSize: number; flushMs: number; maxBuffered: number; concurrency: number; onAdd?: (samples: number) => void },
  logger: { warn(msg: string): void },
): MetricsWriter {
  let buffer: Array<{ accountId: string; sample: MetricsSampleInput }> = []
  let total = 0
  let dropped = 0
  const window: number[] = new Array(10).fill(0)
  let windowSecond = Math.floor(Date.now() / 1000)

  const tick = () => {
    const second = Math.floor(Date.now() / 1000)
    if (second - windowSecond >= 10) window.fill(0)
    else for (let s = windowSecond + 1; s <= second; s++) window[s % 10] = 0
    windowSecond = second
    return second
  }

  let inFlight = 0
  let failures = 0
  const settled: Array<() => void> = []

  // Resolves whether the store took the batch.
  const write = async (batch: Array<{ accountId: string; sample: MetricsSampleInput }>): Promise<boolean> => {
    try {
      const byAccount = new Map<string, MetricsSampleInput[]>()
      for (const { accountId, sample } of batch) {
        let list = byAccount.get(accountId)
        if (!list) byAccount.set(accountId, (list = []))
        list.push(sample)
      }
      for (const [accountId, samples] of byAccount) await store.appendMetrics(accountId, samples)
      return true
    } catch (error) {
      failures++
      // Keep the samples for the next flush, bounded so a dead database cannot exhaust memory.
      logger.warn(`Writing ${batch.length} metrics samples failed: ${(error as Error).message}`)
      buffer = batch.concat(buffer)
      if (buffer.length > options.maxBuffered) {
        dropped += buffer.length - options.maxBuffered
        buffer = buffer.slice(buffer.length - options.maxBuffered)
      }
      return false
    }
  }

  // Up to `concurrency` batches in flight on the store's pool; the rest waits in the buffer.
  const pump = (all: boolean) => {
    while (inFlight < options.concurrency && buffer.length > 0 && (all || buffer.length >= options.batchSize)) {
      const batch = buffer.splice(0, options.batchSize)
      inFlight++
      void write(batch).then(release)
    }
  }

  const slot = async () => {
    while (inFlight >= options.concurrency) await new Promise<void>((resolve) => settled.push(resolve))
    inFlight++
  }
  // After a failed write the samples wait for the timer instead of hammering a failing store.
  const release = (wrote = true) => {
    inFlight--
    for (const wake of settled.splice(0)) wake()
    if (wrote) pump(false)
  }

  // One pass over what is buffered: samples the store just refused wait for the timer, so a flush
  // (and shutdown) ends even while the store keeps failing.
  const flush = async () => {
    const before = failures
    pump(true)
    while (inFlight > 0) {
      await new Promise<void>((resolve) => settled.push(resolve))
      if (failures === before) pump(true)
    }
  }

  const timer = setInterval(() => pump(true), options.flushMs)
  ;(timer as { unref?: () => void }).unref?.()

  return {
    add(accountId, sample) {
      buffer.push({ accountId, sample })
      total++
      options.onAdd?.(1)
      window[tick() % 10]!++
      if (buffer.length >= options.batchSize) pump(false)
    },
    async write(accountId, samples) {
      if (samples.length === 0) return
      await slot()
      try {
        await store.appendMetrics(accountId, samples)
      } finally {
        release()
      }
      total += samples.length
      options.onAdd?.(samples.length)
      window[tick() % 10]! += samples.length
    },
    flush,
    rate() {
      tick()
      return window.reduce((a, b) => a + b, 0) / 10
    },
    get total() {
      return total
    },
    get dropped() {
      return dropped
    },
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}
