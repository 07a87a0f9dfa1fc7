// The metrics-system plugin: samples this node every `metrics-interval` and emits `metrics:collected`;
// provides `system-metrics` so other plugins (connection, get_metrics) can sample on demand.
import { defineFields, definePlugin, version } from '../../core/index.ts'
import { createSystemCollector, type StaticInfo, type SystemMetrics } from './collector.ts'
import { createDockerApi } from '../../lib/docker/engine-api.ts'
import { createStallMeter } from './stall-meter.ts'

export { createSystemCollector, parseDf } from './collector.ts'
export type { StaticInfo, SystemCollector, SystemMetrics } from './collector.ts'
export { createStallMeter } from './stall-meter.ts'
export { createDockerApi } from '../../lib/docker/engine-api.ts'

export interface SystemMetricsService {
  collect(): Promise<SystemMetrics>
  staticInfo(): Promise<StaticInfo>
  /** The event-loop stall the last collection caused, in ms. */
  readonly lastStallMs: number
  readonly last: SystemMetrics | undefined
  /** How often samples are sent, ms. */
  readonly intervalMs: number
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    'system-metrics': SystemMetricsService
  }
  interface ThreshEvents {
    'metrics:collected': SystemMetrics
  }
}

export const metricsSystemFields = defineFields({
  metricsInterval: { type: 'duration', description: 'how often metrics are sent', default: 30_000, min: 100 },
  containerStatsInterval: {
    type: 'duration',
    description: "each running container's CPU and memory: from its cgroup in every sample, else from Docker's stats at most this often; 0 turns it off",
    default: 90_000,
    min: 0,
  },
})

export default definePlugin(() => ({
  name: 'metrics-system',
  provides: ['system-metrics'],
  config: metricsSystemFields,
  setup(ctx) {
    const intervalMs = ctx.settings.metricsInterval
    const collector = createSystemCollector({ threshVersion: version, runtime: ctx.runtime, docker: createDockerApi(), containerStatsIntervalMs: ctx.settings.containerStatsInterval })
    const meter = createStallMeter()
    let lastStallMs = 0
    let last: SystemMetrics | undefined
    ctx.metrics.gauge('agent_metrics_collect_stall_ms', 'Event-loop stall caused by the last metrics collection.', () => lastStallMs)

    const collect = async () => {
      const { value, stallMs } = await meter.measure(() => collector.collect())
      lastStallMs = stallMs
      last = value
      return value
    }
    ctx.provide('system-metrics', {
      collect,
      staticInfo: () => collector.staticInfo(),
      get lastStallMs() {
        return lastStallMs
      },
      get last() {
        return last
      },
      intervalMs,
    })

    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    const tick = async () => {
      try {
        ctx.bus.emit('metrics:collected', await collect())
      } catch (error) {
        ctx.logger.warn(`Collecting metrics failed: ${(error as Error).message}`)
      }
      // Scheduled after the sample so a slow collection never stacks up behind itself.
      if (!stopped) timer = setTimeout(tick, intervalMs)
    }
    const offReady = ctx.hooks.hook('app:ready', () => {
      timer = setTimeout(tick, Math.min(intervalMs, 1000))
    })
    return () => {
      stopped = true
      offReady()
      if (timer) clearTimeout(timer)
    }
  },
}))
