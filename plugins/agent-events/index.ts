// The agent-events plugin: watches Docker's event stream on the node and emits `agent:events` with the
// container starts, exits (with the exit code), OOM kills, health changes and restart loops it sees;
// agent-connection forwards them to the hub like metrics (buffered while it is away).
import { defineFields, definePlugin } from '../../core/index.ts'
import type { AgentEvent } from '../../lib/agent-session/protocol.ts'
import { watchDockerEvents } from './docker-events.ts'

export { toAgentEvent } from './docker-events.ts'

declare module '../../core/index.ts' {
  interface ThreshEvents {
    /** Container events seen on this node, in the order Docker reported them. */
    'agent:events': { events: AgentEvent[] }
  }
}

export default definePlugin(() => ({
  name: 'agent-events',
  config: defineFields({
    containerEvents: { type: 'boolean', description: "forward Docker's container events (start, exit, OOM, health, restart loops) to the hub", default: true },
    restartLoopCount: { type: 'number', description: 'a container restarting more than this many times within restart-loop-window is reported as a restart loop', default: 3, min: 1 },
    restartLoopWindow: { type: 'duration', description: 'the window restart-loop-count counts restarts in', default: 300_000, min: 1000 },
  }),
  setup(ctx) {
    if (!ctx.settings.containerEvents) return
    // Events that arrive together go out together (one call per burst, not per container).
    let pending: AgentEvent[] = []
    let timer: ReturnType<typeof setTimeout> | undefined
    const flush = () => {
      timer = undefined
      const events = pending
      pending = []
      if (events.length > 0) ctx.bus.emit('agent:events', { events })
    }
    let warned = false
    const watcher = watchDockerEvents({
      restartLoopCount: ctx.settings.restartLoopCount,
      restartLoopWindowMs: ctx.settings.restartLoopWindow,
      onEvent(event) {
        warned = false
        pending.push(event)
        timer ??= setTimeout(flush, 100)
      },
      onError(message) {
        if (warned) return
        warned = true
        ctx.logger.warn(`${message} Container events are not reported until Docker answers.`)
      },
    })
    return () => {
      watcher.stop()
      if (timer) clearTimeout(timer)
      flush()
    }
  },
}))
