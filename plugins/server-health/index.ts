// Every role's `/health` (`{"status":"Healthy"}`) and `/metrics` (Prometheus text) routes.
import process from 'node:process'
import { definePlugin } from '../../core/index.ts'

export default definePlugin(() => ({
  name: 'server-health',
  setup(ctx) {
    const startedAt = Date.now()
    ctx.metrics.gauge('thresh_up', 'Whether this thresh process is serving (always 1).', () => 1)
    ctx.metrics.gauge('thresh_uptime_seconds', 'Seconds since this process started serving.', () => Math.round((Date.now() - startedAt) / 1000))
    ctx.metrics.gauge('thresh_process_resident_memory_bytes', 'Resident set size of this process.', () => process.memoryUsage().rss)
    ctx.server.app.get('/health', (c) => c.json({ status: 'Healthy' }))
    ctx.server.app.get('/metrics', (c) => c.text(ctx.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }))
  },
}))
