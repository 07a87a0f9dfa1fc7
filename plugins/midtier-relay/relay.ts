// The mid-tier's work between its agents and its hub: what agents send goes into the outbox and out
// in batches; hub commands go to the agent's connection; keys are rechecked so revoked agents go.
import { createMetricsRegistry, type Counter, type Logger, type MetricsRegistry } from '../../core/index.ts'
import type { AgentCommand, AgentGateway, CommandResult } from '../../lib/agent-session/server/index.ts'
import * as signalR from '@microsoft/signalr'
import { checkControl, createStreamSources, isStreamId, relayReader, subjectSink, type StreamOpen } from '../../lib/streams/index.ts'
import { createHubLink, type HubLink, type HubLinkOptions } from './hub-link.ts'
import type { KeyValidator } from './key-validator.ts'
import type { Outbox, OutboxRun } from './outbox.ts'

export interface RelayOptions {
  /** The hubs the link may use, and how it chooses among them (hub-link.ts). */
  hubs: HubLinkOptions['hubs']
  hubPreference?: HubLinkOptions['preference']
  failbackDelayMs?: number
  apiKey: string
  midtierId: string
  certificateExpiresAt?: () => string | undefined
  gateway: AgentGateway
  validator: KeyValidator
  outbox: Outbox
  /** Agents the journal remembered from before a restart; the hub hears they left after their samples. */
  replayedAgents?: string[]
  logger: Logger
  batchIntervalMs: number
  batchSize: number
  /** A command for an agent that stays offline this long is answered with an error. */
  commandTimeoutMs: number
  /** Agents' keys are asked about again when the answer is older than this. */
  keyCacheTtlMs: number
  reconnectDelayMs?: number
  maxReconnectDelayMs?: number
  /** Where the relay's counters are registered (the role's /metrics). */
  metrics?: MetricsRegistry
}

export interface RelayStats {
  batchesSent: Counter
  samplesSent: Counter
  samplesRefused: Counter
  commandsRouted: Counter
  commandsTimedOut: Counter
  agentsRevoked: Counter
}

export interface Relay {
  readonly link: HubLink
  readonly stats: RelayStats
  start(): void
  /** Sends everything buffered, waiting at most `timeoutMs`; resolves with how much is left. */
  drain(timeoutMs: number): Promise<number>
  close(): Promise<void>
}

interface RoutedCommand {
  agentId: string
  command: AgentCommand
  dispatched: boolean
  offlineSince: number | null
}

const MAX_ATTEMPTS = 3

export function createRelay(options: RelayOptions): Relay {
  const { gateway, outbox, logger, validator } = options
  const metrics = options.metrics ?? createMetricsRegistry()
  const stats: RelayStats = {
    batchesSent: metrics.counter('midtier_metrics_batches_sent', 'Metric batches the hub accepted.'),
    samplesSent: metrics.counter('midtier_metrics_samples_sent_total', 'Metric samples the hub accepted.'),
    samplesRefused: metrics.counter('midtier_metrics_refused_total', 'Metric samples the hub refused (their agent was not registered there).'),
    commandsRouted: metrics.counter('midtier_commands_routed_total', 'Commands the hub sent to agents through this mid-tier.'),
    commandsTimedOut: metrics.counter('midtier_commands_offline_total', 'Commands answered with an error because their agent stayed offline.'),
    agentsRevoked: metrics.counter('midtier_agents_revoked_total', 'Agents disconnected because the hub no longer accepts their key.'),
  }
  const commands = new Map<string, RoutedCommand>()
  let flushAll = false
  let pumping: Promise<void> | undefined
  let failedSeq = -1
  let failedAttempts = 0
  let closed = false
  const offs: Array<() => void> = []
  const timers: Array<ReturnType<typeof setInterval>> = []

  const wanted = () => outbox.controls > 0 || outbox.unsent >= options.batchSize || (flushAll && outbox.size > 0)

  // The hub refuses a key registering a node bound to another key, a taken hostname, or past its
  // limits; the agent is told by losing its session rather than being left connected to nowhere.
  const dropRefused = (answer: unknown) => {
    const refused = (answer as { refused?: unknown } | undefined)?.refused
    if (!Array.isArray(refused)) return
    for (const entry of refused as Array<{ agentId?: unknown; message?: unknown }>) {
      if (typeof entry?.agentId !== 'string') continue
      gateway.disconnectAgent(entry.agentId, `Registration refused by the hub: ${typeof entry.message === 'string' ? entry.message : 'no reason given'}`)
    }
  }

  const send = async (run: OutboxRun) => {
    switch (run.kind) {
      case 'metrics': {
        const batch = run.ops.map((op) => (op.kind === 'metrics' ? op.sample : null))
        const answer = await link.invoke<{ accepted?: number }>('SendMetricsBatch', batch)
        const accepted = typeof answer?.accepted === 'number' ? answer.accepted : batch.length
        stats.batchesSent.inc()
        stats.samplesSent.inc(accepted)
        stats.samplesRefused.inc(batch.length - accepted)
        return
      }
      case 'register':
        dropRefused(await link.invoke('RegisterAgents', run.ops.map((op) => (op.kind === 'register' ? { ...op.info, agentId: op.agentId, ...(op.keyId ? { keyId: op.keyId } : {}) } : null))))
        return
      case 'result':
        for (const op of run.ops) if (op.kind === 'result') await link.invoke('SendCommandResult', op.result)
        return
      case 'status':
        for (const op of run.ops) if (op.kind === 'status') await link.invoke('StackServiceStatusUpdate', op.agentId, op.update)
        return
      case 'events':
        for (const op of run.ops) if (op.kind === 'events') await link.invoke('SendEvents', op.agentId, op.events)
        return
      case 'gone':
        for (const op of run.ops) await link.invoke('AgentDisconnected', op.agentId)
        return
    }
  }

  // Metric batches in flight at once (the hub runs up to 4 invocations of a mid-tier in parallel):
  // each waits for the hub's committed write, so one at a time left the mid-tier idle for most of it.
  // Acks stay in order. Command results go beside them (a command's answer need not wait for samples
  // queued before it); registrations, status updates and departures go alone, after everything before
  // them, so the hub sees an agent's registration before its samples and its samples before its departure.
  const PIPELINE = 4
  type InFlight = { run: OutboxRun; sent: Promise<unknown> }
  let wake: (() => void) | undefined
  const overlaps = (kind: OutboxRun['kind']) => kind === 'metrics' || kind === 'result'
  const pumpOnce = async () => {
    const window: InFlight[] = []
    const launch = (run: OutboxRun) => {
      const sent = send(run)
      sent.catch(() => {}) // handled when it reaches the front of the window
      window.push({ run, sent })
    }
    try {
      while (link.connected) {
        while (window.length < PIPELINE && wanted()) {
          const kind = outbox.peek()
          if (!kind || (window.length > 0 && !(overlaps(kind) && overlaps(window.at(-1)!.run.kind)))) break
          // Behind a batch in flight only a full one goes, unless everything is being flushed.
          const run = outbox.next(options.batchSize, window.length > 0 && !flushAll)
          if (!run) break
          launch(run)
        }
        const first = window[0]
        if (!first) break
        // New work (a full batch, a command result) wakes the loop to send it beside what is in flight.
        const outcome = await Promise.race([
          first.sent.then(
            () => 'sent' as const,
            (error: unknown) => ({ error }),
          ),
          new Promise<'woken'>((resolve) => (wake = () => resolve('woken'))),
        ])
        wake = undefined
        if (outcome === 'woken') continue
        window.shift()
        if (outcome === 'sent') {
          outbox.ack(first.run.lastSeq)
          continue
        }
        {
          const { error } = outcome
          // What follows it is sent again (the hub ignores samples it already stored).
          await Promise.allSettled(window.splice(0).map((w) => w.sent))
          outbox.rewind()
          if (!link.connected) break // kept; sent again after the reconnect
          const run = first.run
          failedAttempts = failedSeq === run.lastSeq ? failedAttempts + 1 : 1
          failedSeq = run.lastSeq
          if (failedAttempts < MAX_ATTEMPTS) {
            await new Promise((resolve) => setTimeout(resolve, 200 * failedAttempts))
            continue
          }
          // The hub keeps refusing it: holding it would stall everything behind it.
          logger.warn(`The hub refused ${run.kind} for ${run.ops.length === 1 ? `agent ${run.ops[0]!.agentId}` : `${run.ops.length} agents`} ${MAX_ATTEMPTS} times (${(error as Error).message}); dropping it.`)
          if (run.kind === 'metrics') stats.samplesRefused.inc(run.ops.length)
          outbox.ack(run.lastSeq)
        }
      }
    } finally {
      // Cut off (the link went down): acknowledge what the hub took, in order, and hand the rest out again.
      const left = window.splice(0)
      if (left.length > 0) {
        const outcomes = await Promise.allSettled(left.map((w) => w.sent))
        for (let i = 0; i < left.length && outcomes[i]!.status === 'fulfilled'; i++) outbox.ack(left[i]!.run.lastSeq)
      }
      outbox.rewind()
    }
    if (outbox.size === 0) flushAll = false
  }

  const pump = (): Promise<void> => {
    if (closed && !draining) return Promise.resolve()
    wake?.()
    pumping ??= pumpOnce().finally(() => {
      pumping = undefined
      if (link.connected && wanted()) void pump()
    })
    return pumping
  }
  let draining = false

  const registerKnownAgents = async () => {
    const agents = new Map(outbox.pendingAgents())
    for (const agent of gateway.agents()) agents.set(agent.agentId, { info: agent.info, keyId: agent.principal.keyId })
    const list = [...agents].map(([agentId, { info, keyId }]) => ({ ...info, agentId, ...(keyId ? { keyId } : {}) }))
    for (let i = 0; i < list.length; i += options.batchSize) {
      dropRefused(await link.invoke('RegisterAgents', list.slice(i, i + options.batchSize)))
    }
  }

  const dispatch = (entry: RoutedCommand) => {
    entry.dispatched = true
    // The result reaches the hub through the gateway's commandResult event, like any other.
    void gateway.sendCommand(entry.agentId, entry.command).then(() => commands.delete(entry.command.commandId))
  }

  // Streams the hub opens on an agent here: read from the gateway, sent up as client streams.
  const streamAgents = new Map<string, string>()
  const sources = createStreamSources({ onError: (error) => logger.debug(`A relayed stream failed: ${(error as Error).message}`) })
  sources.setHandler((open, work) => {
    const agentId = streamAgents.get(open.streamId)!
    return relayReader(gateway.openStream(agentId, open), work).finally(() => streamAgents.delete(open.streamId))
  })

  const link: HubLink = createHubLink({
    hubs: options.hubs,
    ...(options.hubPreference ? { preference: options.hubPreference } : {}),
    ...(options.failbackDelayMs !== undefined ? { failbackDelayMs: options.failbackDelayMs } : {}),
    apiKey: options.apiKey,
    midtierId: options.midtierId,
    ...(options.certificateExpiresAt ? { certificateExpiresAt: options.certificateExpiresAt } : {}),
    logger,
    ...(options.reconnectDelayMs !== undefined ? { reconnectDelayMs: options.reconnectDelayMs } : {}),
    ...(options.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: options.maxReconnectDelayMs } : {}),
    handlers: {
      ExecuteCommand(agentId: unknown, command: AgentCommand) {
        if (typeof agentId !== 'string' || typeof command?.commandId !== 'string' || commands.has(command.commandId)) return
        stats.commandsRouted.inc()
        const entry: RoutedCommand = { agentId, command, dispatched: false, offlineSince: null }
        commands.set(command.commandId, entry)
        if (gateway.isConnected(agentId)) dispatch(entry)
        else entry.offlineSince = Date.now()
      },
      OpenStream(agentId: unknown, open: StreamOpen) {
        if (typeof agentId !== 'string' || !isStreamId(open?.streamId)) return
        const subject = new signalR.Subject<unknown>()
        streamAgents.set(open.streamId, agentId)
        link.send('StreamOutput', open.streamId, subject).catch(() => sources.control({ streamId: open.streamId, op: 'cancel' }))
        sources.start(open, subjectSink(subject, () => link.open))
      },
      StreamControl(_agentId: unknown, control: unknown) {
        const checked = checkControl(control)
        if (checked) sources.control(checked)
      },
      DisconnectAgent(agentId: unknown, reason: unknown) {
        if (typeof agentId !== 'string') return
        const agent = gateway.agent(agentId)
        if (!agent) return
        validator.forgetKey(agent.principal.keyId)
        stats.agentsRevoked.inc()
        gateway.disconnectAgent(agentId, typeof reason === 'string' && reason ? reason : 'The hub disconnected this agent.')
      },
    },
    onDown() {
      sources.stopAll('The hub connection was lost.')
    },
    async onReady() {
      await registerKnownAgents()
      flushAll = true
      void pump()
    },
  })

  // Agents are answered once what they sent is in the journal (one write per event-loop turn).
  gateway.setDurable(outbox.durable)
  offs.push(
    gateway.on('register', ({ agent, principal }) => {
      outbox.push({ kind: 'register', agentId: agent.agentId, info: agent, keyId: principal.keyId })
      for (const entry of commands.values()) if (entry.agentId === agent.agentId && !entry.dispatched) dispatch(entry)
      void pump()
    }),
    gateway.on('metrics', ({ agentId, metrics }) => {
      // The gateway checked the sample and it is ours; a copy only when its agentId must be set.
      outbox.push({ kind: 'metrics', agentId, sample: metrics.agentId === agentId ? metrics : { ...metrics, agentId } })
      if (outbox.unsent >= options.batchSize) void pump()
    }),
    gateway.on('commandResult', ({ agentId, result }) => {
      outbox.push({ kind: 'result', agentId, result: { ...result, agentId } })
      void pump()
    }),
    gateway.on('statusUpdate', ({ agentId, update }) => {
      outbox.push({ kind: 'status', agentId, update })
      void pump()
    }),
    gateway.on('events', ({ agentId, events }) => {
      outbox.push({ kind: 'events', agentId, events })
      void pump()
    }),
    gateway.on('disconnect', ({ agentId }) => {
      outbox.push({ kind: 'gone', agentId })
      void pump()
    }),
  )

  const timeOutCommands = () => {
    const now = Date.now()
    for (const [commandId, entry] of commands) {
      if (gateway.isConnected(entry.agentId)) {
        entry.offlineSince = null
        if (!entry.dispatched) dispatch(entry)
        continue
      }
      entry.offlineSince ??= now
      if (now - entry.offlineSince < options.commandTimeoutMs) continue
      commands.delete(commandId)
      stats.commandsTimedOut.inc()
      const result: CommandResult = {
        agentId: entry.agentId,
        commandId,
        status: 'error',
        success: false,
        output: '',
        error: `Agent ${entry.agentId} is offline: it has not been connected to this mid-tier for ${Math.round(options.commandTimeoutMs / 1000)} s.`,
        timestamp: new Date(now).toISOString(),
        durationMs: now - entry.offlineSince,
      }
      outbox.push({ kind: 'result', agentId: entry.agentId, result })
      void pump()
    }
  }

  let rechecking = false
  const sweepMs = Math.max(100, Math.min(options.keyCacheTtlMs / 4, 5000))
  const recheckKeys = async () => {
    if (rechecking) return
    rechecking = true
    try {
      const agents = gateway.agents()
      const refused = new Set(await validator.recheck(agents.map((a) => a.principal.keyId), Math.max(0, options.keyCacheTtlMs - sweepMs)))
      for (const agent of agents) {
        if (!refused.has(agent.principal.keyId)) continue
        stats.agentsRevoked.inc()
        logger.info(`Disconnecting agent ${agent.agentId}: the hub no longer accepts its key.`)
        gateway.disconnectAgent(agent.agentId, 'The agent key was revoked or has expired.')
      }
    } finally {
      rechecking = false
    }
  }

  return {
    link,
    stats,
    start() {
      for (const agentId of options.replayedAgents ?? []) outbox.push({ kind: 'gone', agentId })
      timers.push(
        setInterval(() => {
          flushAll = true
          void pump()
        }, options.batchIntervalMs),
        setInterval(timeOutCommands, Math.max(50, Math.min(1000, options.commandTimeoutMs / 10))),
        setInterval(() => void recheckKeys(), sweepMs),
      )
      for (const timer of timers) (timer as { unref?: () => void }).unref?.()
      link.start()
    },
    async drain(timeoutMs) {
      draining = true
      const deadline = Date.now() + timeoutMs
      while (outbox.size > 0 && Date.now() < deadline) {
        flushAll = true
        if (link.connected) await Promise.race([pump(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))])
        else await new Promise((r) => setTimeout(r, 50))
      }
      draining = false
      return outbox.size
    },
    async close() {
      closed = true
      for (const timer of timers) clearInterval(timer)
      for (const off of offs) off()
      await link.stop()
      await pumping?.catch(() => {})
    },
  }
}
