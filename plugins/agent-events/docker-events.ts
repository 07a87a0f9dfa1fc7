// Follows Docker's event stream (`GET /events`, newline-delimited JSON over the engine's socket) for
// containers and turns what matters into AgentEvents: start, die (exit code), OOM, health changes,
// and a restart loop when one container starts too often within a window. Reconnects when the stream ends.
// A die that Docker pairs with a `stop` or `destroy` (a stop or removal someone asked for: thresh stack
// stop, update or destroy, thresh container stop, docker stop) is marked `requested`, so it is not an
// alert; a crash, an OOM kill or `docker kill` has no such pair.
import { request, type ClientRequest } from 'node:http'
import process from 'node:process'
import type { AgentEvent } from '../../lib/agent-session/protocol.ts'

interface DockerMessage {
  Type?: string
  Action?: string
  status?: string
  id?: string
  from?: string
  time?: number
  timeNano?: number
  Actor?: { ID?: string; Attributes?: Record<string, string> }
}

export interface DockerEventsOptions {
  dockerHost?: string
  /** A container started more than `restartLoopCount` times within this window is in a restart loop. */
  restartLoopWindowMs: number
  restartLoopCount: number
  reconnectDelayMs?: number
  /** How long a die waits for Docker's `stop`/`destroy` that marks it requested (default 3 s). */
  requestedStopGraceMs?: number
  onEvent(event: AgentEvent): void
  onError?(message: string): void
}

function target(dockerHost: string | undefined) {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' }
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) }
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'))
  return { host: url.hostname, port: Number(url.port || 2375) }
}

/** Maps one Docker message to an event; undefined for the actions nobody is told about. */
export function toAgentEvent(message: DockerMessage): AgentEvent | undefined {
  if (message.Type !== 'container') return undefined
  const action = message.Action ?? message.status ?? ''
  const attributes = message.Actor?.Attributes ?? {}
  const at = new Date(message.timeNano ? message.timeNano / 1e6 : (message.time ?? Date.now() / 1000) * 1000).toISOString()
  const base: AgentEvent = {
    type: 'container_start',
    at,
    ...(message.Actor?.ID ? { containerId: message.Actor.ID.slice(0, 64) } : {}),
    ...(attributes.name ? { container: attributes.name } : {}),
    ...(attributes['thresh.stack'] ? { stack: attributes['thresh.stack'] } : {}),
    ...(attributes['thresh.service'] ? { service: attributes['thresh.service'] } : {}),
    ...(attributes.image ? { image: attributes.image } : {}),
  }
  if (action === 'start') return base
  if (action === 'die') {
    const code = Number(attributes.exitCode)
    return { ...base, type: 'container_die', ...(Number.isFinite(code) ? { exitCode: code } : {}) }
  }
  if (action === 'oom') return { ...base, type: 'container_oom' }
  const health = /^health_status:\s*(\w+)/.exec(action)
  if (health) return { ...base, type: 'container_health', health: health[1]! }
  return undefined
}

export interface DockerEventsWatcher {
  stop(): void
}

export function watchDockerEvents(options: DockerEventsOptions): DockerEventsWatcher {
  const grace = options.requestedStopGraceMs ?? 3000
  // Docker logs `stop` after `die` as a rule, but the two race: a stop seen first is remembered for the grace.
  const stopRequests = new Map<string, number>()
  const heldDies = new Map<string, { event: AgentEvent; timer: ReturnType<typeof setTimeout> }>()
  const release = (id: string, requested: boolean) => {
    const held = heldDies.get(id)
    if (!held) return
    clearTimeout(held.timer)
    heldDies.delete(id)
    options.onEvent(requested ? { ...held.event, requested: true } : held.event)
  }
  const emit = (event: AgentEvent) => {
    const id = event.containerId
    if (!id) return options.onEvent(event)
    // Whatever comes next for this container follows its exit: the exit goes out first, as it happened.
    release(id, false)
    if (event.type !== 'container_die') return options.onEvent(event)
    const stoppedAt = stopRequests.get(id)
    if (stoppedAt !== undefined && Date.now() - stoppedAt <= grace) {
      stopRequests.delete(id)
      return options.onEvent({ ...event, requested: true })
    }
    heldDies.set(id, { event, timer: setTimeout(() => release(id, false), grace) })
  }
  const stopRequested = (id: string) => {
    if (heldDies.has(id)) return release(id, true)
    stopRequests.set(id, Date.now())
    if (stopRequests.size > 5000) stopRequests.delete(stopRequests.keys().next().value as string)
  }
  const starts = new Map<string, number[]>()
  const looping = new Set<string>()
  let stopped = false
  let current: ClientRequest | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let since = Math.floor(Date.now() / 1000)

  const restartLoop = (event: AgentEvent) => {
    if (event.type !== 'container_start' || !event.containerId) return
    const now = Date.parse(event.at)
    const times = (starts.get(event.containerId) ?? []).filter((t) => now - t <= options.restartLoopWindowMs)
    times.push(now)
    starts.set(event.containerId, times)
    // The first start is not a restart.
    const restarts = times.length - 1
    if (restarts > options.restartLoopCount) {
      // Said once per loop: again only after the container calmed down for a whole window.
      if (looping.has(event.containerId)) return
      looping.add(event.containerId)
      options.onEvent({ ...event, type: 'container_restart_loop', restarts, windowSeconds: Math.round(options.restartLoopWindowMs / 1000) })
    } else looping.delete(event.containerId)
    if (starts.size > 5000) starts.delete(starts.keys().next().value as string)
  }

  const connect = () => {
    if (stopped) return
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start', 'die', 'oom', 'health_status', 'stop', 'destroy'] }))
    const req = request({ ...target(options.dockerHost ?? process.env.DOCKER_HOST), path: `/events?since=${since}&filters=${filters}`, method: 'GET' }, (res) => {
      if ((res.statusCode ?? 500) >= 300) {
        options.onError?.(`Docker answered ${res.statusCode} for its event stream.`)
        res.resume()
        return
      }
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let newline: number
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim()
          buffer = buffer.slice(newline + 1)
          if (!line) continue
          let message: DockerMessage
          try {
            message = JSON.parse(line) as DockerMessage
          } catch {
            continue
          }
          if (message.time) since = Math.max(since, message.time + 1)
          const action = message.Action ?? message.status
          if (message.Type === 'container' && (action === 'stop' || action === 'destroy') && message.Actor?.ID) {
            stopRequested(message.Actor.ID.slice(0, 64))
            continue
          }
          const event = toAgentEvent(message)
          if (!event) continue
          emit(event)
          restartLoop(event)
        }
      })
    })
    req.on('error', (error) => {
      if (!stopped) options.onError?.(`Docker's event stream failed: ${error.message}`)
    })
    req.on('close', () => {
      if (current === req) current = undefined
      if (!stopped) timer = setTimeout(connect, options.reconnectDelayMs ?? 2000)
    })
    req.end()
    current = req
  }
  connect()
  return {
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      current?.destroy()
      for (const id of [...heldDies.keys()]) release(id, false)
    },
  }
}
