// The agent-status plugin: the agent's live state as JSON on its loopback port
// (`GET /api/agent/status`), manual failover/failback, and `agent.runtime.json` in THRESH_HOME so
// `thresh agent status` can find the running process.
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { definePlugin, version } from '../../core/index.ts'
import { addressedToThisMachine, sameMachineOnly } from './same-machine.ts'

export const RUNTIME_FILE = 'agent.runtime.json'

export interface AgentRuntimeFile {
  pid: number
  url: string
  startedAt: string
}

export default definePlugin(() => ({
  name: 'agent-status',
  requires: ['agent-connection'],
  setup(ctx) {
    const connection = ctx.use('agent-connection')
    const startedAt = Date.now()
    const file = join(ctx.dataDir, RUNTIME_FILE)

    const status = () => {
      const live = connection.status()
      const metrics = ctx.has('system-metrics') ? ctx.use('system-metrics') : undefined
      return {
        ...live,
        nodeName: connection.nodeName ?? null,
        pid: process.pid,
        version,
        runtime: ctx.runtime,
        startedAt: new Date(startedAt).toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        metricsIntervalMs: metrics?.intervalMs ?? null,
        lastCollectStallMs: metrics?.lastStallMs ?? null,
      }
    }

    const app = ctx.server.app
    app.get('/api/agent/status', addressedToThisMachine(ctx.config.host), (c) => c.json(status()))
    for (const [path, target] of [['/api/agent/failover', 'fallback'], ['/api/agent/failback', 'primary']] as const) {
      app.post(path, sameMachineOnly, (c) => {
        try {
          connection.switchTo(target)
        } catch (error) {
          return c.json({ error: 'not_configured', message: (error as Error).message }, 409)
        }
        return c.json(status())
      })
    }

    const offListening = ctx.hooks.hook('server:listening', (url) => {
      const info: AgentRuntimeFile = { pid: process.pid, url, startedAt: new Date(startedAt).toISOString() }
      writeFileSync(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 })
    })
    return () => {
      offListening()
      rmSync(file, { force: true })
    }
  },
}))
