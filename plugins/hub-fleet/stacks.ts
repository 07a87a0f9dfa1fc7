// Stack orchestration on the hub: validate and resolve a definition, pick the node, dispatch the
// runtime tool, and keep the stack's and each service's status from results and status updates.
import { ThreshError } from '../../core/index.ts'
import { formatPort, formatVolume, parseStack, resolveStack, type StackState } from '../../lib/stack/index.ts'
import type { CommandRecord, FleetStore, NodeRecord, StackRecord, StackServiceRecord } from '../../lib/storage/types.ts'
import { actorOf, type Principal } from '../../lib/auth/principal.ts'
import type { AuditLog } from '../hub-auth/index.ts'
import { newId } from '../../lib/ids.ts'
import type { Dispatcher } from './dispatcher.ts'
import type { FleetBus, StackOperation } from './fleet-events.ts'
import { sealStackFiles, type SecretBox } from '../../lib/secret-box.ts'
import { deployStackArguments } from './stack-payload.ts'
import { createStackReconciler } from './stack-reconcile.ts'
import { withoutRollback } from './stack-state.ts'
import { stackView, type StackView } from './views.ts'

export interface StackOutcome {
  /** 200 when finished, 202 when the command is still running. */
  status: 200 | 202
  stack: StackView | null
  command: { id: string; status: string; error: string | null }
}

export interface StackOperations {
  /** `rollback`: undo the whole deploy when a service fails (default: true for a redeploy, false for a first deploy). */
  deploy(principal: Principal, body: unknown, wait: boolean, options?: { rollback?: boolean }): Promise<StackOutcome>
  list(accountId: string): Promise<StackView[]>
  get(accountId: string, name: string): Promise<StackView>
  updateService(principal: Principal, name: string, service: string, image: string, wait: boolean): Promise<StackOutcome>
  stop(principal: Principal, name: string, wait: boolean): Promise<StackOutcome>
  start(principal: Principal, name: string, wait: boolean): Promise<StackOutcome>
  destroy(principal: Principal, name: string, wait: boolean, force: boolean): Promise<StackOutcome>
  /** False when ignored: malformed, or about a stack that was not sent to this node. */
  statusUpdate(accountId: string, agentId: string, update: { stackId?: unknown; serviceName?: unknown; status?: unknown; errorMessage?: unknown }): Promise<boolean>
  applyResult(record: CommandRecord): Promise<void>
  /** Settles the node's stacks left deploying/updating/stopping to what its Docker reports (on register). */
  reconcile(node: NodeRecord): Promise<void>
}

export interface StackDeps {
  store: FleetStore
  audit: AuditLog
  dispatcher: Dispatcher
  commandTimeoutMs: number
  /** Where `stack:deployed`, `stack:failed` and `stack:destroyed` go. */
  bus: FleetBus
  /** Resolves `{idOrName}` in an account, 404 when unknown. */
  findNode(accountId: string, idOrName: string): Promise<NodeRecord>
  /** Whether a connection here reaches the node now. */
  reachable(node: NodeRecord): boolean
  nodeName(accountId: string, nodeId: string | undefined): Promise<string | null>
  logger: { warn(msg: string): void }
  /** Seals stack secrets and configs for storage (records and commands keep no plaintext). */
  secretBox: SecretBox
}

const STACK_TOOLS = new Set<string>(['deploy_stack', 'update_service', 'stop_stack', 'start_stack', 'destroy_stack'] satisfies StackOperation[])

const notFound = (message: string) => new ThreshError({ code: 'not_found', status: 404, plugin: 'hub-fleet', message })
const conflict = (code: string, message: string) => new ThreshError({ code, status: 409, plugin: 'hub-fleet', message })
const stackBusy = (stack: StackRecord) => conflict('stack_busy', `Stack '${stack.name}' is busy with another operation; try again when it finishes.`)

function parseState(output: string | undefined): Partial<StackState> | undefined {
  if (!output) return undefined
  try {
    const value = JSON.parse(output) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    // Agents answer {stackId, message, stack: StackState}; a bare StackState is accepted too.
    const nested = (value as { stack?: unknown }).stack
    const state = typeof nested === 'object' && nested !== null ? nested : value
    return Array.isArray((state as { services?: unknown }).services) || typeof (state as { status?: unknown }).status === 'string' ? (state as Partial<StackState>) : undefined
  } catch {
    return undefined
  }
}

function mergeServices(services: StackServiceRecord[], state: Partial<StackState> | undefined, fallback?: string): StackServiceRecord[] {
  const byName = new Map((Array.isArray(state?.services) ? state!.services : []).map((s) => [s.name, s]))
  return services.map((service) => {
    const live = byName.get(service.name)
    if (!live) return fallback ? { ...service, status: fallback } : service
    const next: StackServiceRecord = { ...service, status: live.status ?? service.status, image: live.image ?? service.image }
    if (live.error) next.errorMessage = live.error
    else delete next.errorMessage
    return next
  })
}

export function createStackOperations(deps: StackDeps): StackOperations {
  const { store, dispatcher, bus } = deps
  const busy = new Set<string>()
  const reconciler = createStackReconciler({ store, dispatcher, commandTimeoutMs: deps.commandTimeoutMs, reachable: deps.reachable, busy: (id) => busy.has(id), logger: deps.logger })
  const destroyed = (stack: StackRecord, forced: boolean) =>
    bus.emit('stack:destroyed', { accountId: stack.accountId, stackId: stack.id, name: stack.name, ...(stack.nodeId ? { nodeId: stack.nodeId } : {}), forced })

  async function view(stack: StackRecord): Promise<StackView> {
    return stackView(stack, await deps.nodeName(stack.accountId, stack.nodeId))
  }

  async function stackNamed(accountId: string, name: string): Promise<StackRecord> {
    const stack = await store.getStackByName(accountId, name)
    if (!stack) throw notFound(`No stack named '${name}' in this account.`)
    return stack
  }

  async function pickNode(accountId: string, stackName: string, targetNode?: string, targetCluster?: string, current?: string): Promise<NodeRecord> {
    if (targetNode !== undefined) {
      const node = await deps.findNode(accountId, targetNode)
      if (current && node.id !== current) {
        throw conflict('stack_on_other_node', `Stack '${stackName}' runs on another node; destroy it before deploying it to ${node.hostname}.`)
      }
      return node
    }
    if (current) {
      const node = await store.getNode(accountId, current)
      if (node) return node
    }
    let candidates: NodeRecord[]
    if (targetCluster !== undefined) {
      const cluster = await store.getClusterByName(accountId, targetCluster)
      if (!cluster) throw notFound(`No cluster named '${targetCluster}' in this account.`)
      candidates = await store.listClusterNodes(accountId, cluster.id)
    } else {
      candidates = await store.listNodes(accountId)
    }
    const online = candidates.filter((n) => n.status === 'online' && deps.reachable(n))
    if (online.length === 0) {
      throw conflict(
        'no_online_node',
        targetCluster !== undefined
          ? `Cluster '${targetCluster}' has no online node to deploy '${stackName}' to.`
          : `No online node to deploy '${stackName}' to: connect an agent first.`,
      )
    }
    const stacks = await store.listStacks(accountId)
    const load = (n: NodeRecord) => {
      const m = n.lastMetrics ?? {}
      const cpu = typeof m.cpuPercent === 'number' ? m.cpuPercent / 100 : 0
      const mem = typeof m.memoryUsedMB === 'number' && typeof m.memoryTotalMB === 'number' && m.memoryTotalMB > 0 ? m.memoryUsedMB / m.memoryTotalMB : 0
      return cpu + mem + 0.1 * stacks.filter((s) => s.nodeId === n.id).length
    }
    return online.sort((a, b) => load(a) - load(b) || a.hostname.localeCompare(b.hostname))[0]!
  }

  async function run(
    principal: Principal,
    stack: StackRecord,
    node: NodeRecord,
    tool: string,
    args: Record<string, unknown>,
    wait: boolean,
    action: string,
    details: Record<string, unknown> = {},
    storedArguments?: Record<string, unknown>,
  ): Promise<StackOutcome> {
    if (busy.has(stack.id)) throw stackBusy(stack)
    busy.add(stack.id)
    let dispatched
    try {
      dispatched = await dispatcher.dispatch(node, tool, args, { timeoutMs: deps.commandTimeoutMs, stackId: stack.id, ...(storedArguments ? { storedArguments } : {}) })
    } catch (error) {
      busy.delete(stack.id)
      // Busy on another hub: the database refused this hub's command for the stack.
      if ((error as { code?: string }).code === 'stack_busy') throw stackBusy(stack)
      throw error
    }
    const done = dispatched.done.finally(() => busy.delete(stack.id))
    await deps.audit.record({
      accountId: principal.accountId,
      actor: actorOf(principal),
      action,
      target: `stack:${stack.name}`,
      details: { stackId: stack.id, node: node.hostname, commandId: dispatched.record.id, ...details },
    })
    if (!wait) {
      return { status: 202, stack: await view(stack), command: { id: dispatched.record.id, status: dispatched.record.status, error: null } }
    }
    const finished = await done
    const after = await store.getStack(stack.accountId, stack.id)
    return {
      status: 200,
      stack: after ? await view(after) : null,
      command: { id: finished.id, status: finished.status, error: finished.error || null },
    }
  }

  async function nodeOf(stack: StackRecord): Promise<NodeRecord> {
    const node = stack.nodeId ? await store.getNode(stack.accountId, stack.nodeId) : undefined
    if (!node) throw conflict('node_missing', `The node stack '${stack.name}' ran on is no longer known to the hub.`)
    return node
  }

  return {
    async deploy(principal, body, wait, options = {}) {
      const parsed = parseStack(body)
      if (!parsed.ok) {
        const lines = parsed.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message))
        throw new ThreshError({
          code: 'stack_invalid',
          status: 400,
          plugin: 'hub-fleet',
          message: `The stack definition is invalid (${lines.length} problem${lines.length === 1 ? '' : 's'}): ${lines.join('; ')}`,
          details: lines,
        })
      }
      const definition = parsed.stack
      const existing = await store.getStackByName(principal.accountId, definition.name)
      const node = await pickNode(principal.accountId, definition.name, definition.targetNode, definition.targetCluster, existing?.nodeId)
      const resolved = resolveStack(definition)
      const now = new Date().toISOString()
      const record: StackRecord = {
        id: existing?.id ?? newId(),
        accountId: principal.accountId,
        name: definition.name,
        status: 'deploying',
        nodeId: node.id,
        definition: sealStackFiles(body, deps.secretBox),
        services: resolved.services.map((s) => ({
          name: s.name,
          image: s.image,
          ports: s.ports.map(formatPort),
          volumes: s.volumes.map(formatVolume),
          env: s.env,
          dependsOn: s.dependsOn,
          status: 'pending',
        })),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        ...(existing?.deployedAt ? { deployedAt: existing.deployedAt } : {}),
        // What the stack reads as again if the node rolls this deploy back (see applyResult).
        rollbackTo: { record: existing ? withoutRollback(existing) : null },
      }
      if (busy.has(record.id)) throw stackBusy(record)
      if (!deps.reachable(node)) {
        if (node.status === 'online') {
          throw new ThreshError({
            code: 'node_unreachable',
            status: 503,
            plugin: 'hub-fleet',
            message: `Node ${node.hostname} is online but no hub process reaches it now (the hub that held its connection stopped and its agent is reconnecting), so '${record.name}' cannot be deployed to it yet; try again once it is back.`,
          })
        }
        throw conflict('node_offline', `Node ${node.hostname} is offline, so stack '${record.name}' cannot be deployed to it now.`)
      }
      await store.upsertStack(record)
      const args = { ...deployStackArguments(resolved, record.id, principal.accountId), ...(options.rollback !== undefined ? { rollback: options.rollback } : {}) } as unknown as Record<string, unknown>
      try {
        return await run(principal, record, node, 'deploy_stack', args, wait, existing ? 'stack.redeploy' : 'stack.deploy', {}, sealStackFiles(args, deps.secretBox))
      } catch (error) {
        // Nothing was sent: the stack stays as it was.
        if (existing) await store.upsertStack(existing).catch(() => {})
        else await store.deleteStack(record.accountId, record.id).catch(() => {})
        throw error
      }
    },

    async list(accountId) {
      const stacks = await store.listStacks(accountId)
      return Promise.all(stacks.sort((a, b) => a.name.localeCompare(b.name)).map(view))
    },

    async get(accountId, name) {
      return view(await stackNamed(accountId, name))
    },

    async updateService(principal, name, service, image, wait) {
      const stack = await stackNamed(principal.accountId, name)
      if (!stack.services.some((s) => s.name === service)) throw notFound(`Stack '${name}' has no service '${service}'.`)
      const node = await nodeOf(stack)
      const args = { stackId: stack.id, stackName: stack.name, account: stack.accountId, service, image: image.replace(/^docker:/, '') }
      return run(principal, stack, node, 'update_service', args, wait, 'stack.update', { service, image })
    },

    async stop(principal, name, wait) {
      const stack = await stackNamed(principal.accountId, name)
      const node = await nodeOf(stack)
      return run(principal, stack, node, 'stop_stack', { stackId: stack.id, stackName: stack.name, account: stack.accountId }, wait, 'stack.stop')
    },

    async start(principal, name, wait) {
      const stack = await stackNamed(principal.accountId, name)
      const node = await nodeOf(stack)
      return run(principal, stack, node, 'start_stack', { stackId: stack.id, stackName: stack.name, account: stack.accountId }, wait, 'stack.start')
    },

    async destroy(principal, name, wait, force) {
      const stack = await stackNamed(principal.accountId, name)
      const node = stack.nodeId ? await store.getNode(stack.accountId, stack.nodeId) : undefined
      if (!node || (force && !deps.reachable(node))) {
        // Nothing can reach the containers; forget the stack so its name is free again.
        await store.deleteStack(stack.accountId, stack.id)
        destroyed(stack, true)
        await deps.audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'stack.destroy', target: `stack:${stack.name}`, details: { stackId: stack.id, forced: true } })
        return { status: 200, stack: null, command: { id: '', status: 'skipped', error: null } }
      }
      const args = { stackId: stack.id, stackName: stack.name, account: stack.accountId, removeVolumes: true }
      return run(principal, stack, node, 'destroy_stack', args, wait, 'stack.destroy')
    },

    async statusUpdate(accountId, agentId, update) {
      if (typeof update.stackId !== 'string' || typeof update.serviceName !== 'string' || typeof update.status !== 'string') return false
      // Only the node a stack was sent to reports on it; another node of the account cannot repaint it.
      const stack = await store.getStack(accountId, update.stackId)
      if (!stack || stack.nodeId !== agentId) return false
      const errorMessage = typeof update.errorMessage === 'string' && update.errorMessage ? update.errorMessage : null
      await store.setServiceStatus(accountId, update.stackId, update.serviceName, { status: update.status, errorMessage })
      return true
    },

    async applyResult(record) {
      if (!record.stackId || !STACK_TOOLS.has(record.tool)) return
      let stack = await store.getStack(record.accountId, record.stackId)
      if (!stack) return
      if (record.status === 'timeout' && record.tool !== 'destroy_stack') {
        // A slow node may well have finished: what its Docker says beats "timed out".
        const node = await store.getNode(record.accountId, record.nodeId)
        const left = node ? await reconciler.reconcile(node, stack.id).catch(() => new Set([stack!.id])) : new Set([stack.id])
        if (!left.has(stack.id)) return
        stack = (await store.getStack(record.accountId, record.stackId)) ?? stack
      }
      const ok = record.status === 'success'
      const state = parseState(record.output)
      const now = new Date().toISOString()
      // undefined: not known (a deploy from before this was stored); null: a first deploy.
      const before = record.tool === 'deploy_stack' ? stack.rollbackTo?.record : undefined
      const rolledBack = !ok && typeof state?.rolledBack === 'string' ? state.rolledBack : undefined
      const next: StackRecord = withoutRollback({ ...(rolledBack && before ? before : stack), updatedAt: now })
      if (rolledBack && (before === null || (before === undefined && !state?.services?.length))) {
        // A first deploy undone: nothing of it is on the node, so nothing of it stays here either.
        await store.deleteStack(stack.accountId, stack.id)
        bus.emit('stack:failed', { accountId: stack.accountId, stackId: stack.id, name: stack.name, ...(stack.nodeId ? { nodeId: stack.nodeId } : {}), commandId: record.id, operation: 'deploy_stack', reason: `rolled back: ${rolledBack}`, timedOut: false, failedServices: [] })
        return
      }
      if (rolledBack) {
        // The node runs the previous definition again: the stack reads as it did, with why the deploy was undone.
        next.services = mergeServices(next.services, state)
        next.status = state?.status ?? 'running'
        next.errorMessage = `rolled back: ${rolledBack}`
      } else if (record.tool === 'destroy_stack') {
        if (ok) {
          await store.deleteStack(stack.accountId, stack.id)
          destroyed(stack, false)
          return
        }
        next.status = 'error'
        next.errorMessage = record.error || 'Destroying the stack failed.'
      } else if (record.tool === 'stop_stack') {
        next.services = mergeServices(stack.services, state, ok ? 'stopped' : undefined)
        next.status = ok ? 'stopped' : 'error'
        if (ok) delete next.errorMessage
        else next.errorMessage = record.error || 'Stopping the stack failed.'
      } else {
        next.services = mergeServices(stack.services, state, ok ? 'running' : undefined)
        if (record.tool === 'update_service' && ok && typeof record.arguments.service === 'string' && typeof record.arguments.image === 'string') {
          next.services = next.services.map((s) => (s.name === record.arguments.service && !state ? { ...s, image: record.arguments.image as string } : s))
        }
        const stateStatus = typeof state?.status === 'string' ? state.status : undefined
        next.status = ok ? (stateStatus ?? 'running') : record.tool === 'update_service' && stateStatus ? stateStatus : 'error'
        const message = ok ? state?.error : record.error || state?.error || `${record.tool} failed.`
        if (message) next.errorMessage = message
        else delete next.errorMessage
        if (ok && record.tool === 'deploy_stack') next.deployedAt = now
      }
      await store.upsertStack(next)

      const about = { accountId: next.accountId, stackId: next.id, name: next.name, ...(next.nodeId ? { nodeId: next.nodeId } : {}), commandId: record.id }
      if (!ok) {
        bus.emit('stack:failed', {
          ...about,
          operation: record.tool as StackOperation,
          reason: next.errorMessage ?? `${record.tool} failed.`,
          timedOut: record.status === 'timeout',
          failedServices: next.services.filter((s) => s.status === 'error' || s.errorMessage).map((s) => ({ name: s.name, error: s.errorMessage ?? null })),
        })
      } else if (record.tool === 'deploy_stack') {
        const services = next.services.map((s) => ({ name: s.name, image: s.image, status: s.status, ...(s.errorMessage ? { error: s.errorMessage } : {}) }))
        bus.emit('stack:deployed', { ...about, status: next.status, services })
      } else if (record.tool === 'update_service' && typeof record.arguments.service === 'string') {
        const image = next.services.find((s) => s.name === record.arguments.service)?.image ?? String(record.arguments.image ?? '')
        bus.emit('stack:updated', { ...about, service: record.arguments.service, image })
      }
    },

    async reconcile(node) {
      await reconciler.reconcile(node)
    },
  }
}
