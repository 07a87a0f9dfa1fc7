// Commands to nodes: persisted with status and result, routed to the agent's connection (the embedded
// mid-tier's gateway or an external mid-tier), timed out when no answer comes, late answers kept.
// With several hubs on one PostgreSQL (a `relay`), a command for a node another hub holds goes there
// through the database: the row carries it, NOTIFY wakes the holder, and its result comes back the
// same way (docs/hubs.md). A command whose holder died moves to the node's next holder, or fails.
import { ThreshError } from '../../core/index.ts'
import type { AgentCommand, CommandResult } from '../../lib/agent-session/protocol.ts'
import { newId } from '../../lib/ids.ts'
import type { CommandPatch, CommandRecord, FleetStore, HubMesh, NodeRecord } from '../../lib/storage/types.ts'
import { doneMessage, parseRelayMessage, runMessage, type DoneMessage, type RunMessage } from './relay-messages.ts'
import { UNSETTLED } from './stack-state.ts'

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

/** What the dispatcher needs to reach nodes other hub processes hold. */
export interface CommandRelay {
  mesh: HubMesh
  hubId: string
  /** Whether a hub's heartbeat was fresh at the last look. */
  alive(hubId: string): boolean
  /** A hub's name for messages (host and pid). */
  label(hubId: string): string
  /** The node as the store has it now (its holder may have changed). */
  node(accountId: string, nodeId: string): Promise<NodeRecord | undefined>
  /** Stored (sealed) arguments back to what the agent needs; throws when this hub cannot open them. */
  open(args: Record<string, unknown>): Record<string, unknown>
  /** How long a dead hub may still look alive (the lease TTL and one heartbeat). */
  staleMs: number
}

export interface Dispatcher {
  dispatch(node: NodeRecord, tool: string, args: Record<string, unknown>, options: DispatchOptions): Promise<Dispatched>
  handleResult(accountId: string, agentId: string, result: CommandResult): Promise<void>
  /** Commands waiting for an agent that is reachable through `via` again (a mid-tier re-registered it). */
  pendingFor(accountId: string, agentId: string): AgentCommand[]
  onFinished(listener: (record: CommandRecord) => void | Promise<void>): void
  /** Whether this hub can reach the node now: a connection here, or a live hub that holds it. */
  reachable(node: NodeRecord, local: boolean): boolean
  /**
   * A command of this hub still in flight, or finished with its result not yet written: what a read
   * of it must show (the store may lag the answer by one write).
   */
  known(accountId: string, id: string): CommandRecord | undefined
  /** A message another hub sent this one (relay only). */
  receive(message: string): Promise<void>
  /** The set of live hubs changed: commands whose holder died move on or fail. */
  holdersChanged(): void
  /**
   * This hub listens again after its listening connection dropped: the messages sent meanwhile were
   * lost, so it reads from the store the commands other hubs relayed to it (run with `timeoutMs`, the
   * asker keeps the real clock) and the results of the commands it relayed.
   */
  resync(timeoutMs: number): Promise<void>
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
  reject(error: unknown): void
  /** Set while another hub holds the node and runs the command for this one. */
  holder?: string
  moving?: boolean
  timeoutMs: number
}

/** A command another hub asked this one to send to an agent it holds. */
interface Relayed {
  record: CommandRecord
  command: AgentCommand
  timer: ReturnType<typeof setTimeout>
}

const unfinished = (status: string) => status === 'pending' || status === 'sent'

/** A command's record as stored: sent now, with what the record keeps of its arguments. */
function newRecord(node: NodeRecord, tool: string, args: Record<string, unknown>, options: DispatchOptions, hubs: Pick<CommandRecord, 'askerHub' | 'holderHub'>): CommandRecord {
  const now = new Date().toISOString()
  return {
    id: newId(),
    accountId: node.accountId,
    nodeId: node.id,
    tool,
    arguments: options.storedArguments ?? args,
    status: 'sent',
    createdAt: now,
    sentAt: now,
    ...hubs,
    ...(options.stackId ? { stackId: options.stackId } : {}),
  }
}

export function createDispatcher(store: FleetStore, routeOf: (node: NodeRecord) => CommandRoute | undefined, logger: { warn(msg: string): void }, relay?: CommandRelay): Dispatcher {
  const pending = new Map<string, Pending>()
  const relayed = new Map<string, Relayed>()
  // Finished here, the result's write still in flight: reads are served from here until it lands.
  const writing = new Map<string, CommandRecord>()
  // Stack results this hub (the holder) handed to the asker: if the asker turns out to have died before
  // applying one, the stack would stay deploying, so the holder applies it then.
  const handedOff = new Map<string, { record: CommandRecord; until: number }>()
  const listeners: Array<(record: CommandRecord) => void | Promise<void>> = []
  const remoteHolder = (node: NodeRecord) => (relay && node.heldBy && node.heldBy !== relay.hubId && relay.alive(node.heldBy) ? node.heldBy : undefined)

  const finish = async (record: CommandRecord) => {
    for (const listener of listeners) {
      try {
        await listener(record)
      } catch (error) {
        logger.warn(`Handling the result of command ${record.id} (${record.tool}) failed: ${(error as Error).message}`)
      }
    }
  }

  const resultPatch = (result: CommandResult) => {
    const success = result.success === true || result.status === 'success'
    return {
      status: (success ? 'success' : 'error') as 'success' | 'error',
      output: typeof result.output === 'string' ? result.output : JSON.stringify(result.output ?? ''),
      error: typeof result.error === 'string' ? result.error : '',
      finishedAt: new Date().toISOString(),
      ...(typeof result.durationMs === 'number' ? { durationMs: result.durationMs } : {}),
    }
  }

  /** Ends a command of this hub's callers with `patch` (if nothing else ended it first). */
  const settle = async (entry: Pending, patch: CommandPatch & { status: 'success' | 'error' | 'timeout' }) => {
    if (pending.get(entry.record.id) !== entry) return
    pending.delete(entry.record.id)
    clearTimeout(entry.timer)
    const record: CommandRecord = { ...entry.record, ...patch }
    await store.finishCommand(record.accountId, record.id, patch).catch(() => {})
    await finish(record)
    entry.resolve(record)
  }

  /**
   * The caller has its answer before the result is written: the write follows the record's insert,
   * and until it lands `known` serves the finished record, so nobody reads it as still running.
   */
  const recordResult = (record: CommandRecord, created: Promise<unknown>, patch: CommandPatch & { status: 'success' | 'error' | 'timeout' }) => {
    writing.set(record.id, record)
    const write = created.then(() => store.finishCommand(record.accountId, record.id, patch))
    write
      .catch((error) => logger.warn(`Recording the result of command ${record.id} (${record.tool}) failed: ${(error as Error).message}`))
      .finally(() => writing.delete(record.id))
    return write
  }

  /** Ends tracking of a command whose record could not be stored: its caller gets the store's error. */
  const storeFailed = (entry: Pending) => (error: unknown) => {
    if (pending.get(entry.record.id) !== entry) return
    clearTimeout(entry.timer)
    pending.delete(entry.record.id)
    entry.reject(error)
  }

  const track = (record: CommandRecord, command: AgentCommand, created: Promise<unknown>, timeoutMs: number, hostname: string, holder?: string) => {
    let resolve!: (record: CommandRecord) => void
    let reject!: (error: unknown) => void
    const done = new Promise<CommandRecord>((res, rej) => ((resolve = res), (reject = rej)))
    done.catch(() => {}) // a caller that does not wait (202) must not leave an unhandled rejection
    const timer = setTimeout(() => {
      const entry = pending.get(record.id)
      if (!entry) return
      const error = `Node ${hostname} did not answer ${record.tool} within ${Math.round(timeoutMs / 1000)} s.`
      void settle(entry, { status: 'timeout', error, finishedAt: new Date().toISOString() })
    }, timeoutMs)
    ;(timer as { unref?: () => void }).unref?.()
    const entry: Pending = { record, created, command, timer, resolve, reject, timeoutMs, ...(holder ? { holder } : {}) }
    pending.set(record.id, entry)
    return { entry, done }
  }

  /**
   * A stack command returns once its record is stored, so a failed insert leaves the stack as it was
   * (the caller undoes it); any other command returns at once and a failed insert rejects `done`.
   */
  async function settleStored(entry: Pending, stored: Promise<unknown>, done: Promise<CommandRecord>, options: DispatchOptions): Promise<Dispatched> {
    stored.catch(storeFailed(entry))
    if (options.stackId) await stored
    return { record: entry.record, done }
  }

  /**
   * Stores a command. A stack command of a hub in a mesh names its asker, and the database refuses a
   * second open one for the stack (stack_busy), across hubs; when the open one was asked by a hub that
   * stopped, it is ended and the store is tried once more.
   */
  async function storeCommand(record: CommandRecord, insert: () => Promise<unknown>): Promise<void> {
    try {
      await insert()
    } catch (error) {
      if (!relay || !record.stackId || (error as { code?: string }).code !== 'stack_busy') throw error
      const orphanError = `The hub process that asked for ${record.tool} stopped before it finished.`
      if (!(await relay.mesh.endOrphanedStackCommands(record.accountId, record.stackId, relay.staleMs, orphanError))) throw error
      await insert()
    }
  }

  async function dispatchRemote(node: NodeRecord, holder: string, tool: string, args: Record<string, unknown>, options: DispatchOptions): Promise<Dispatched> {
    const record = newRecord(node, tool, args, options, { askerHub: relay!.hubId, holderHub: holder })
    const command: AgentCommand = { commandId: record.id, tool, arguments: args }
    // Tracked before the row is stored: the holder's answer can come back before this await returns.
    const sent = storeCommand(record, () => relay!.mesh.relay(record, runMessage(record, options.timeoutMs)))
    const { entry, done } = track(record, command, sent, options.timeoutMs, node.hostname, holder)
    return settleStored(entry, sent, done, options)
  }

  /** On the holder: another hub asks this one to send a command to an agent held here. */
  async function run(message: RunMessage) {
    const r = relay!
    const record = message.record ?? (await store.getCommand(message.accountId, message.id))
    if (!record || !unfinished(record.status) || relayed.has(record.id) || !record.askerHub) return
    const asker = record.askerHub
    const fail = async (error: string) => {
      const failed: CommandRecord = { ...record, status: 'error', error, output: '', finishedAt: new Date().toISOString() }
      await r.mesh.finishAndNotify(record.accountId, record.id, { status: 'error', error, output: '', finishedAt: failed.finishedAt! }, asker, doneMessage(failed, false))
    }
    const node = await r.node(record.accountId, record.nodeId)
    const route = node && routeOf(node)
    if (!route) {
      const next = node && remoteHolder(node)
      if (next) await r.mesh.retarget(record.accountId, record.id, next, runMessage({ ...record, holderHub: next }, message.timeoutMs))
      else await fail(`Node ${node?.hostname ?? record.nodeId} is no longer connected to hub ${r.label(r.hubId)}, nor to any other hub.`)
      return
    }
    let args: Record<string, unknown>
    try {
      args = r.open(record.arguments)
    } catch (error) {
      await fail(`Hub ${r.label(r.hubId)} holds node ${node!.hostname} but cannot open this command's secrets (every hub on one database needs the same stackSecretsKey): ${(error as Error).message}`)
      return
    }
    const command: AgentCommand = { commandId: record.id, tool: record.tool, arguments: args }
    // The asker keeps the clock; this only forgets a command whose answer never came.
    const timer = setTimeout(() => relayed.delete(record.id), message.timeoutMs + 5000)
    ;(timer as { unref?: () => void }).unref?.()
    relayed.set(record.id, { record, command, timer })
    route.send(command, message.timeoutMs)
  }

  /** On the asker: the holder recorded the result. */
  async function done(message: DoneMessage) {
    const entry = pending.get(message.id)
    if (!entry || entry.record.accountId !== message.accountId) return
    pending.delete(message.id)
    clearTimeout(entry.timer)
    let record: CommandRecord
    if (message.result) record = { ...entry.record, status: message.status, ...message.result }
    else record = (await store.getCommand(message.accountId, message.id).catch(() => undefined)) ?? { ...entry.record, status: message.status }
    if (!message.applied) await finish(record)
    entry.resolve(record)
  }

  /** A command of this hub's callers whose holder died: the node's next holder takes it, or it fails. */
  async function moveOn(entry: Pending) {
    const r = relay!
    const { record } = entry
    const dead = entry.holder!
    const node = await r.node(record.accountId, record.nodeId)
    if (pending.get(record.id) !== entry) return
    const route = node && routeOf(node)
    if (route) {
      // The agent reconnected here; it runs a commandId at most once and answers a repeat with the first outcome.
      delete entry.holder
      route.send(entry.command, entry.timeoutMs)
      return
    }
    const next = node && remoteHolder(node)
    if (next) {
      if (await r.mesh.retarget(record.accountId, record.id, next, runMessage({ ...record, holderHub: next }, entry.timeoutMs))) entry.holder = next
      return
    }
    // Still online under the dead hub's lease: its agent is reconnecting, so wait (the timeout bounds it).
    if (node && node.status === 'online' && (!node.heldBy || node.heldBy === dead)) return
    await settle(entry, {
      status: 'error',
      error: `Hub ${r.label(dead)}, which held node ${node?.hostname ?? record.nodeId}, stopped while the node ran ${record.tool}, and the node did not reconnect to another hub.`,
      finishedAt: new Date().toISOString(),
    })
  }

  async function receive(text: string) {
    const message = parseRelayMessage(text)
    if (!message || !relay) return
    try {
      if (message.k === 'run') await run(message)
      else if (message.k === 'done') await done(message)
    } catch (error) {
      logger.warn(`Handling command ${message.id} relayed from another hub failed: ${(error as Error).message}`)
    }
  }

  return {
    async dispatch(node, tool, args, options) {
      const route = routeOf(node)
      if (!route) {
        const holder = remoteHolder(node)
        if (holder) return dispatchRemote(node, holder, tool, args, options)
        if (node.status === 'online' && relay) {
          throw new ThreshError({
            code: 'node_reconnecting',
            status: 503,
            plugin: 'hub-fleet',
            message: `Node ${node.hostname} is reconnecting: the hub process that held its connection stopped. Try again once its agent is back online.`,
          })
        }
        if (node.status === 'online') {
          throw new ThreshError({
            code: 'node_unreachable',
            status: 503,
            plugin: 'hub-fleet',
            message: `Node ${node.hostname} is online but connected to another hub process, and this hub's store cannot reach it (several hubs need PostgreSQL); try again through that hub.`,
          })
        }
        throw new ThreshError({
          code: 'node_offline',
          status: 409,
          plugin: 'hub-fleet',
          message: `Node ${node.hostname} is offline, so it cannot run ${tool}; bring its agent back online and try again.`,
        })
      }
      // Recorded as sent before it goes out, so a fast result can never be overwritten by 'sent'.
      const record = newRecord(node, tool, args, options, relay && options.stackId ? { askerHub: relay.hubId } : {})
      // A stack command in a mesh goes out only once stored: the database refuses a second operation on
      // the stack, whichever hub asked it.
      if (relay && options.stackId) await storeCommand(record, () => store.createCommand(record))
      // The insert and the send overlap (on PostgreSQL the insert is a round trip and a commit): a result
      // that comes back first waits for it in handleResult. If the insert fails the caller gets the error
      // and the agent's answer is dropped, as for a command it never heard of.
      const created = relay && options.stackId ? Promise.resolve() : store.createCommand(record)
      created.catch(() => {})
      const command: AgentCommand = { commandId: record.id, tool, arguments: args }
      const { entry, done } = track(record, command, created, options.timeoutMs, node.hostname)
      route.send(command, options.timeoutMs)
      return settleStored(entry, created, done, options)
    },

    async handleResult(accountId, agentId, result) {
      if (typeof result?.commandId !== 'string') return
      const entry = pending.get(result.commandId)
      if (entry && (entry.record.accountId !== accountId || entry.record.nodeId !== agentId)) return
      const held = entry ? undefined : relayed.get(result.commandId)
      if (held) {
        if (held.record.accountId !== accountId || held.record.nodeId !== agentId) return
        relayed.delete(result.commandId)
        clearTimeout(held.timer)
        const patch = resultPatch(result)
        const finished: CommandRecord = { ...held.record, ...patch }
        const asker = held.record.askerHub!
        if (relay!.alive(asker)) {
          // One statement records the result and wakes the asker, which applies it and answers its caller.
          const first = await relay!.mesh.finishAndNotify(accountId, finished.id, patch, asker, doneMessage(finished, false))
          if (first && finished.stackId) handedOff.set(finished.id, { record: finished, until: Date.now() + 2 * relay!.staleMs })
        } else if (await store.finishCommand(accountId, finished.id, patch)) {
          await finish(finished) // the asker is gone: the stack still settles
          // It may only look gone (a heartbeat late under load): if it still waits, it answers its caller.
          await relay!.mesh.notify(asker, doneMessage(finished, true)).catch(() => {})
        }
        return
      }
      if (entry) {
        pending.delete(result.commandId)
        clearTimeout(entry.timer)
        const patch = resultPatch(result)
        const finished: CommandRecord = { ...entry.record, ...patch }
        const written = recordResult(finished, entry.created, patch)
        // Listeners that change more (a stack's status) see the record finished in the store first.
        if (finished.stackId) await written.catch(() => {})
        await finish(finished)
        entry.resolve(finished)
        return
      }
      // A late answer (after a timeout, or a restart, or from a hub that stopped): the record still learns what happened.
      const record = await store.getCommand(accountId, result.commandId)
      // Only a command that timed out (or one from before a restart) learns its late answer; a repeat is dropped.
      if (!record || record.nodeId !== agentId || record.status === 'success' || record.status === 'error') return
      const patch = resultPatch(result)
      const finished: CommandRecord = { ...record, ...patch }
      if (record.status === 'timeout') await store.updateCommand(accountId, finished.id, patch)
      else if (!(await store.finishCommand(accountId, finished.id, patch))) return
      await finish(finished)
      // Asked on another hub that still waits (its holder stopped, the agent came here): tell it, already applied.
      const asker = record.askerHub
      if (relay && asker && asker !== relay.hubId && relay.alive(asker) && record.status !== 'timeout') {
        await relay.mesh.notify(asker, doneMessage(finished, true)).catch(() => {})
      }
    },

    pendingFor(accountId, agentId) {
      const mine = [...pending.values()].filter((p) => !p.holder && p.record.accountId === accountId && p.record.nodeId === agentId)
      const theirs = [...relayed.values()].filter((p) => p.record.accountId === accountId && p.record.nodeId === agentId)
      return [...mine, ...theirs].map((p) => p.command)
    },

    onFinished(listener) {
      listeners.push(listener)
    },

    known(accountId, id) {
      const record = pending.get(id)?.record ?? writing.get(id)
      return record && record.accountId === accountId ? structuredClone(record) : undefined
    },

    reachable(node, local) {
      return local || remoteHolder(node) !== undefined
    },

    receive,

    holdersChanged() {
      if (!relay) return
      for (const [id, { record, until }] of handedOff) {
        if (relay.alive(record.askerHub!)) {
          if (Date.now() > until) handedOff.delete(id)
          continue
        }
        handedOff.delete(id)
        void (async () => {
          const stack = await store.getStack(record.accountId, record.stackId!)
          // A destroy leaves the stack's status as it was, so it cannot tell whether it was applied: the
          // stack still being there says it was not (applying it removes the record).
          if (stack && (UNSETTLED.has(stack.status) || record.tool === 'destroy_stack')) await finish(record)
        })().catch((error) => logger.warn(`Applying command ${id} for a stopped hub failed: ${(error as Error).message}`))
      }
      for (const entry of pending.values()) {
        if (!entry.holder || entry.moving || relay.alive(entry.holder)) continue
        entry.moving = true
        moveOn(entry)
          .catch((error) => logger.warn(`Moving command ${entry.record.id} off a stopped hub failed: ${(error as Error).message}`))
          .finally(() => (entry.moving = false))
      }
    },

    async resync(timeoutMs) {
      if (!relay) return
      for (const record of await relay.mesh.unfinishedHeldBy(relay.hubId)) {
        if (!relayed.has(record.id) && !pending.has(record.id)) await receive(runMessage(record, timeoutMs))
      }
      const asked = [...pending.values()].filter((entry) => entry.holder)
      await Promise.all(
        asked.map(async ({ record }) => {
          const now = await store.getCommand(record.accountId, record.id)
          if (now && !unfinished(now.status)) await receive(doneMessage(now, false))
        }),
      )
    },

    get inFlight() {
      return pending.size + relayed.size
    },

    close() {
      for (const entry of pending.values()) clearTimeout(entry.timer)
      for (const entry of relayed.values()) clearTimeout(entry.timer)
      pending.clear()
      relayed.clear()
    },
  }
}
