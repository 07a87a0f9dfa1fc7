// Commands to nodes: persisted with status and result, routed to the agent's connection (the embedded
// mid-tier's gateway or an external mid-tier), timed out when no answer comes, late answers kept.
import { ThreshError } from '../../core/index.ts'
import type { AgentCommand, CommandResult } from '../../lib/agent-session/protocol.ts'
import { newId } from '../../lib/ids.ts'
import type { CommandRecord, FleetStore, NodeRecord } from '../../lib/storage/types.ts'

/** How to reach one agent right now, or undefined when no connection here holds it. */
export interface CommandRoute {
  via: string
  send(command: AgentCommand, timeoutMs: number): void
}

export interface DispatchOptions {
  timeoutMs: number
  stackId?: string
  /** What the command record keeps instead of `args` (secret content sealed); the node gets `args`. */
  storedArguments?: Record<string, unknown>
}

export interface Dispatched {
  record: CommandRecord
  /** Settles when the result arrives or the command times out. */
  done: Promise<CommandRecord>
}

export interface Dispatcher {
  dispatch(node: NodeRecord, tool: string, args: Record<string, unknown>, options: DispatchOptions): Promise<Dispatched>
  handleResult(accountId: string, agentId: string, result: CommandResult): Promise<void>
  /** Commands waiting for an agent that is reachable through `via` again (a mid-tier re-registered it). */
  pendingFor(accountId: string, agentId: string): AgentCommand[]
  onFinished(listener: (record: CommandRecord) => void | Promise<void>): void
  readonly inFlight: number
  close(): void
}

interface Pending {
  record: CommandRecord
  /** The record's insert; a result is recorded only after it. */
  created: Promise<unknown>
  command: AgentCommand
  timer: ReturnType<typeof setTimeout>
  resolve(record: CommandRecord): void
}

export function createDispatcher(store: FleetStore, routeOf: (node: NodeRecord) => CommandRoute | undefined, logger: { warn(msg: string): void }): Dispatcher {
  const pending = new Map<string, Pending>()
  const listeners: Array<(record: CommandRecord) => void | Promise<void>> = []

  const finish = async (record: CommandRecord) => {
    for (const listener of listeners) {
      try {
        await listener(record)
      } catch (error) {
        logger.warn(`Handling the result of command ${record.id} (${record.tool}) failed: ${(error as Error).message}`)
      }
    }
  }

  return {
    async dispatch(node, tool, args, options) {
      const route = routeOf(node)
      if (!route && node.status === 'online') {
        // Another hub process on the same database holds this agent's connection (hub HA).
        throw new ThreshError({
          code: 'node_unreachable',
          status: 503,
          plugin: 'hub-fleet',
          message: `Node ${node.hostname} is online but connected to another hub process, so this hub cannot reach it; try again through that hub or once the agent reconnects here.`,
        })
      }
      if (!route) {
        throw new ThreshError({
          code: 'node_offline',
          status: 409,
          plugin: 'hub-fleet',
          message: `Node ${node.hostname} is offline, so it cannot run ${tool}; bring its agent back online and try again.`,
        })
      }
      const record: CommandRecord = {
        id: newId(),
        accountId: node.accountId,
        nodeId: node.id,
        tool,
        arguments: options.storedArguments ?? args,
        // Recorded as sent before it goes out, so a fast result can never be overwritten by 'sent'.
        status: 'sent',
        createdAt: new Date().toISOString(),
        sentAt: new Date().toISOString(),
        ...(options.stackId ? { stackId: options.stackId } : {}),
      }
      // The insert and the send overlap (on PostgreSQL the insert is a round trip and a commit): a result
      // that comes back first waits for it in handleResult. If the insert fails the caller gets the error
      // and the agent's answer is dropped, as for a command it never heard of.
      const created = store.createCommand(record)
      created.catch(() => {})
      const command: AgentCommand = { commandId: record.id, tool, arguments: args }
      let resolve!: (record: CommandRecord) => void
      const done = new Promise<CommandRecord>((r) => (resolve = r))
      const timer = setTimeout(async () => {
        const entry = pending.get(record.id)
        if (!entry) return
        pending.delete(record.id)
        const timedOut: CommandRecord = {
          ...entry.record,
          status: 'timeout',
          error: `Node ${node.hostname} did not answer ${tool} within ${Math.round(options.timeoutMs / 1000)} s.`,
          finishedAt: new Date().toISOString(),
        }
        await store.finishCommand(record.accountId, record.id, { status: 'timeout', error: timedOut.error!, finishedAt: timedOut.finishedAt! }).catch(() => {})
        await finish(timedOut)
        entry.resolve(timedOut)
      }, options.timeoutMs)
      ;(timer as { unref?: () => void }).unref?.()
      pending.set(record.id, { record, created, command, timer, resolve })
      route.send(command, options.timeoutMs)
      try {
        await created
      } catch (error) {
        clearTimeout(timer)
        pending.delete(record.id)
        throw error
      }
      return { record, done }
    },

    async handleResult(accountId, agentId, result) {
      if (typeof result?.commandId !== 'string') return
      const entry = pending.get(result.commandId)
      let record = entry?.record
      if (entry) {
        if (entry.record.accountId !== accountId || entry.record.nodeId !== agentId) return
        pending.delete(result.commandId)
        clearTimeout(entry.timer)
        try {
          await entry.created
        } catch {
          return // dispatch failed and told its caller
        }
      } else {
        // A late answer (after a timeout, or a restart): the record still learns what happened.
        record = await store.getCommand(accountId, result.commandId)
        // Only a command that timed out (or one from before a restart) learns its late answer; a repeat is dropped.
        if (!record || record.nodeId !== agentId || record.status === 'success' || record.status === 'error') return
      }
      const success = result.success === true || result.status === 'success'
      const finished: CommandRecord = {
        ...record!,
        status: success ? 'success' : 'error',
        output: typeof result.output === 'string' ? result.output : JSON.stringify(result.output ?? ''),
        error: typeof result.error === 'string' ? result.error : '',
        finishedAt: new Date().toISOString(),
      }
      const patch = {
        status: finished.status as 'success' | 'error',
        output: finished.output!,
        error: finished.error!,
        finishedAt: finished.finishedAt!,
        ...(typeof result.durationMs === 'number' ? { durationMs: result.durationMs } : {}),
      }
      if (record!.status === 'timeout') await store.updateCommand(accountId, finished.id, patch)
      else if (!(await store.finishCommand(accountId, finished.id, patch)) && !entry) return
      await finish(finished)
      entry?.resolve(finished)
    },

    pendingFor(accountId, agentId) {
      return [...pending.values()].filter((p) => p.record.accountId === accountId && p.record.nodeId === agentId).map((p) => p.command)
    },

    onFinished(listener) {
      listeners.push(listener)
    },

    get inFlight() {
      return pending.size
    },

    close() {
      for (const entry of pending.values()) clearTimeout(entry.timer)
      pending.clear()
    },
  }
}
