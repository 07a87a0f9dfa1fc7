// Follows Docker's event stream (`GET /events`, newline-delimited JSON over the engine's socket) for
// containers and turns what matters into AgentEvents: start, die (exit code), OOM, health changes,
// and a restart loop when one container starts too often within a window. Reconnects when the stream ends.
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
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start', 'die', 'oom', 'health_status'] }))
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
          const event = toAgentEvent(message)
          if (!event) continue
          options.onEvent(event)
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
    },
  }
}
