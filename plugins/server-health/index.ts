// Every role's `/health` (`{"status":"Healthy"}`, or 503 Degraded naming the failing dependency) and
// `/metrics` (Prometheus text; the fleet-wide part behind `metricsToken` where the role asks) routes.
import process from 'node:process'
import { defineFields, definePlugin, isThreshError } from '../../core/index.ts'
import type { HealthChecks } from '../../lib/health.ts'
import { metricsScope } from './metrics-access.ts'

/** A probe slower than this counts as failing: a load balancer should not wait on a stuck database. */
const PROBE_TIMEOUT_MS = 3000

export const serverHealthFields = defineFields({
  metricsToken: {
    type: 'string',
    description: 'when set, /metrics shows every metric only to a scraper sending Authorization: Bearer <token>, and this process\'s own to others',
    secret: true,
  },
  publicMetrics: {
    type: 'string',
    oneOf: ['all', 'process'],
    description: 'what /metrics shows anyone while no metricsToken is set: all, or only process metrics (the hub\'s default: its gauges span accounts)',
    default: 'all',
  },
})

const PROMETHEUS = { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }

export default definePlugin(() => ({
  name: 'server-health',
  provides: ['health'],
  config: serverHealthFields,
  setup(ctx) {
    const startedAt = Date.now()
    // This process's own gauges: what /metrics shows a scraper without the token.
    const own = new Set<string>()
    const gauge = (name: string, help: string, read: () => number) => {
      own.add(name)
      ctx.metrics.gauge(name, help, read)
    }
    gauge('thresh_up', 'Whether this thresh process is serving (always 1).', () => 1)
    gauge('thresh_uptime_seconds', 'Seconds since this process started serving.', () => Math.round((Date.now() - startedAt) / 1000))
    gauge('thresh_process_resident_memory_bytes', 'Resident set size of this process.', () => process.memoryUsage().rss)

    const probes = new Map<string, () => Promise<void>>()
    const health: HealthChecks = {
      check(name, probe) {
        probes.set(name, probe)
        return () => void probes.delete(name)
      },
    }
    ctx.provide('health', health)

    ctx.server.app.get('/health', async (c) => {
      const failing: Record<string, { status: 'Unhealthy'; message: string }> = {}
      await Promise.all(
        [...probes].map(async ([name, probe]) => {
          const message = await probeFailure(probe)
          if (message !== undefined) failing[name] = { status: 'Unhealthy', message }
        }),
      )
      if (Object.keys(failing).length === 0) return c.json({ status: 'Healthy' })
      return c.json({ status: 'Degraded', checks: failing }, 503)
    })
    const publicMetrics = ctx.settings.publicMetrics === 'process' ? 'process' : 'all'
    ctx.server.app.get('/metrics', (c) => {
      const scope = metricsScope(c, ctx.settings.metricsToken, publicMetrics)
      if (scope === 'refused') {
        c.header('WWW-Authenticate', 'Bearer realm="metrics"')
        return c.json({ error: 'unauthorized', message: 'The metrics token is wrong: send Authorization: Bearer <metricsToken>.' }, 401)
      }
      if (scope === 'all') return c.text(ctx.metrics.render(), 200, PROMETHEUS)
      const note = '# Only process metrics: the others need Authorization: Bearer <metricsToken>.\n'
      return c.text(note + ctx.metrics.render((name) => own.has(name)), 200, PROMETHEUS)
    })
  },
}))

/** Why the probe failed, or undefined when it passed. Only a ThreshError's sentence is shown: others may name hosts or databases. */
async function probeFailure(probe: () => Promise<void>): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS)
  })
  try {
    await Promise.race([probe(), timeout])
    return undefined
  } catch (error) {
    if (isThreshError(error)) return error.message
    return (error as Error).message === 'timeout' ? `No answer within ${PROBE_TIMEOUT_MS / 1000} s.` : 'The check failed.'
  } finally {
    clearTimeout(timer)
  }
}
