// Records the fleet's lifecycle as events: hub-fleet's bus events (nodes, mid-tiers, stacks, agents'
// container events) and key revocations become rows of the event log, written in batches.
import type { EventBus, Logger, ThreshEvents } from '../../core/index.ts'
import type { AgentEvent } from '../../lib/agent-session/protocol.ts'
import type { EventInput, EventRecord, FleetStore } from '../../lib/storage/index.ts'
import type {} from '../hub-fleet/index.ts'
import type {} from '../hub-auth/index.ts'

export interface EventRecorder {
  /** Queues an event of an account (written within `flushMs`). */
  add(accountId: string, event: EventInput): void
  /** Listeners told of every event as it is queued (the alert evaluator). */
  onEvent(listener: (accountId: string, event: EventInput) => void): () => void
  /** Listeners told of events once stored, with their ids (live timelines, `thresh events -f`). */
  onStored(listener: (accountId: string, events: EventRecord[]) => void): () => void
  flush(): Promise<void>
  close(): Promise<void>
}

const name = (e: AgentEvent) => e.container ?? e.containerId?.slice(0, 12) ?? 'a container'

/** What an agent's container event says, in one line. */
export function containerEvent(nodeId: string, hostname: string | undefined, e: AgentEvent): EventInput {
  const where = hostname ?? nodeId
  const details: Record<string, unknown> = { ...e }
  delete details.at
  delete details.type
  delete details.stack
  const base = { at: e.at, kind: e.type, nodeId, ...(e.stack ? { stack: e.stack } : {}), details }
  switch (e.type) {
    case 'container_start':
      return { ...base, severity: 'info', message: `${name(e)} started on ${where}.` }
    case 'container_die':
      if (e.requested) return { ...base, severity: 'info', message: `${name(e)} was stopped on ${where}${e.exitCode !== undefined ? ` (exit code ${e.exitCode})` : ''}.` }
      return { ...base, severity: e.exitCode === 0 ? 'info' : 'warning', message: `${name(e)} exited${e.exitCode !== undefined ? ` with code ${e.exitCode}` : ''} on ${where}.` }
    case 'container_oom':
      return { ...base, severity: 'critical', message: `${name(e)} ran out of memory on ${where}.` }
    case 'container_health':
      return { ...base, severity: e.health === 'unhealthy' ? 'warning' : 'info', message: `${name(e)} is ${e.health ?? 'of unknown health'} on ${where}.` }
    case 'container_restart_loop':
      return { ...base, severity: 'critical', message: `${name(e)} restarted ${e.restarts} times in ${e.windowSeconds} s on ${where}.` }
  }
}

export function createEventRecorder(store: FleetStore, bus: EventBus<ThreshEvents>, logger: Logger, flushMs = 500): EventRecorder {
  let pending = new Map<string, EventInput[]>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let writing: Promise<void> = Promise.resolve()
  const listeners = new Set<(accountId: string, event: EventInput) => void>()
  const storedListeners = new Set<(accountId: string, events: EventRecord[]) => void>()
  // Host names for messages: learned from registrations, so no read per event.
  const hostnames = new Map<string, string>()
  const seen = new Set<string>()

  const flush = async () => {
    if (timer) clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = new Map()
    writing = writing.then(async () => {
      for (const [accountId, events] of batch) {
        let stored: EventRecord[]
        try {
          stored = await store.appendEvents(accountId, events)
        } catch (error) {
          logger.warn(`Recording ${events.length} fleet events failed: ${(error as Error).message}`)
          continue
        }
        for (const listener of storedListeners) {
          try {
            listener(accountId, stored)
          } catch (error) {
            logger.warn(`A stored-event listener failed: ${(error as Error).message}`)
          }
        }
      }
    })
    await writing
  }

  const add = (accountId: string, event: EventInput) => {
    let list = pending.get(accountId)
    if (!list) pending.set(accountId, (list = []))
    list.push(event)
    for (const listener of listeners) {
      try {
        listener(accountId, event)
      } catch (error) {
        logger.warn(`An event listener failed: ${(error as Error).message}`)
      }
    }
    timer ??= setTimeout(() => void flush(), flushMs)
  }
  const now = () => new Date().toISOString()
  const hostOf = (accountId: string, nodeId: string) => hostnames.get(`${accountId}/${nodeId}`)

  const offs = [
    bus.on('node:registered', (e) => {
      const key = `${e.accountId}/${e.nodeId}`
      hostnames.set(key, e.hostname)
      const again = seen.has(key)
      seen.add(key)
      const via = e.connectionTier === 'hub' ? 'the hub' : e.connectionTier
      add(e.accountId, {
        at: now(),
        kind: again ? 'node_reconnect' : 'node_online',
        severity: 'info',
        nodeId: e.nodeId,
        message: `${e.hostname} ${again ? 'reconnected' : 'is online'} through ${via}${e.transport ? ` over ${e.transport}` : ''}.`,
        details: { connectionTier: e.connectionTier, ...(e.transport ? { transport: e.transport } : {}) },
      })
    }),
    bus.on('node:offline', (e) =>
      add(e.accountId, {
        at: now(),
        kind: 'node_offline',
        severity: 'warning',
        nodeId: e.nodeId,
        message: `${hostOf(e.accountId, e.nodeId) ?? e.nodeId} is offline (${e.reason === 'silent' ? 'it stopped reporting' : 'its connection closed'}).`,
        details: { reason: e.reason, ...(e.lastSeenAt ? { lastSeenAt: e.lastSeenAt } : {}) },
      }),
    ),
    bus.on('node:removed', (e) =>
      add(e.accountId, { at: now(), kind: 'node_removed', severity: 'info', nodeId: e.nodeId, message: `${hostOf(e.accountId, e.nodeId) ?? e.nodeId} was removed (${e.reason}).`, details: { reason: e.reason } }),
    ),
    bus.on('node:events', (e) => {
      for (const event of e.events) add(e.accountId, containerEvent(e.nodeId, hostOf(e.accountId, e.nodeId), event))
    }),
    bus.on('midtier:connection', (e) =>
      add(e.accountId, {
        at: now(),
        kind: e.connected ? 'midtier_connected' : 'midtier_disconnected',
        severity: e.connected ? 'info' : 'warning',
        message: `Mid-tier ${e.midtierId} ${e.connected ? 'connected' : 'disconnected'}.`,
        details: { midtierId: e.midtierId, ...(e.certificateExpiresAt ? { certificateExpiresAt: e.certificateExpiresAt } : {}) },
      }),
    ),
    bus.on('stack:deployed', (e) =>
      add(e.accountId, {
        at: now(),
        kind: 'stack_deployed',
        severity: e.status === 'running' ? 'info' : 'warning',
        ...(e.nodeId ? { nodeId: e.nodeId } : {}),
        stack: e.name,
        message: `Stack ${e.name} deployed (${e.status}).`,
        details: { commandId: e.commandId, services: e.services.map((s) => ({ name: s.name, image: s.image, status: s.status })) },
      }),
    ),
    bus.on('stack:updated', (e) =>
      add(e.accountId, {
        at: now(),
        kind: 'stack_updated',
        severity: 'info',
        ...(e.nodeId ? { nodeId: e.nodeId } : {}),
        stack: e.name,
        message: `Stack ${e.name}: ${e.service} updated to ${e.image}.`,
        details: { commandId: e.commandId, service: e.service, image: e.image },
      }),
    ),
    bus.on('stack:failed', (e) => {
      const rolledBack = e.operation === 'update_service' && /rolled back/i.test(e.reason)
      add(e.accountId, {
        at: now(),
        kind: rolledBack ? 'stack_rollback' : 'stack_failed',
        severity: rolledBack ? 'warning' : 'critical',
        ...(e.nodeId ? { nodeId: e.nodeId } : {}),
        stack: e.name,
        message: rolledBack ? `Stack ${e.name}: the update was rolled back (${e.reason})` : `Stack ${e.name}: ${e.operation} failed (${e.reason})`,
        details: { commandId: e.commandId, operation: e.operation, timedOut: e.timedOut },
      })
    }),
    bus.on('stack:destroyed', (e) =>
      add(e.accountId, { at: now(), kind: 'stack_destroyed', severity: 'info', ...(e.nodeId ? { nodeId: e.nodeId } : {}), stack: e.name, message: `Stack ${e.name} was destroyed${e.forced ? ' (forgotten; its containers may still run)' : ''}.` }),
    ),
    bus.on('auth:key-revoked', (e) =>
      add(e.accountId, { at: now(), kind: 'key_revoked', severity: 'warning', message: `Key ${e.keyId} was revoked (${e.reason}).`, details: { keyId: e.keyId } }),
    ),
  ]

  return {
    add,
    onEvent(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    onStored(listener) {
      storedListeners.add(listener)
      return () => void storedListeners.delete(listener)
    },
    flush,
    async close() {
      for (const off of offs) off()
      await flush()
    },
  }
}
