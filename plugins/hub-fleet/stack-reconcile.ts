// Settles stacks the hub lost track of (it restarted mid-deploy, or the command timed out) to what the
// node's Docker reports, asked with list_environments when the agent registers again or on the timeout.
import type { FleetStore, NodeRecord, StackRecord, StackServiceRecord } from '../../lib/storage/types.ts'
import type { Dispatcher } from './dispatcher.ts'
import { UNSETTLED, withoutRollback } from './stack-state.ts'

export interface ReconcileDeps {
  store: FleetStore
  dispatcher: Dispatcher
  commandTimeoutMs: number
  reachable(node: NodeRecord): boolean
  /** Whether a command of this hub process still works on the stack (its result will settle it). */
  busy(stackId: string): boolean
  logger: { warn(msg: string): void }
  /** How long to wait before asking again while the agent still works on a stack (default 2 s). */
  retryMs?: number
}

interface Listed {
  name: string
  status: string
  busy?: boolean
  error?: string
  services: Array<{ name: string; status?: string; image?: string; error?: string }>
}

export interface StackReconciler {
  /**
   * Asks the node what runs and settles its unsettled stacks (and `also`, a stack whose command just
   * timed out); resolves with the ids of the stacks it could not settle (node unreachable or silent).
   */
  reconcile(node: NodeRecord, also?: string): Promise<Set<string>>
}

function listedOf(output: string | undefined): Listed[] | undefined {
  try {
    const value = JSON.parse(output ?? '') as unknown
    return Array.isArray(value) ? value.filter((s): s is Listed => typeof s?.name === 'string' && typeof s?.status === 'string') : undefined
  } catch {
    return undefined
  }
}

function settled(stack: StackRecord, live: Listed | undefined): StackRecord {
  // Settled from what runs: no deploy is in flight any more.
  const next: StackRecord = { ...withoutRollback(stack), updatedAt: new Date().toISOString() }
  if (!live) {
    next.status = 'error'
    next.errorMessage = `The node has no containers of stack '${stack.name}': its last operation did not finish. Deploy it again.`
    next.services = stack.services.map((s) => ({ ...s, status: 'error' }))
    return next
  }
  const byName = new Map(live.services.map((s) => [s.name, s]))
  next.services = stack.services.map((s): StackServiceRecord => {
    const found = byName.get(s.name)
    const service: StackServiceRecord = { ...s, status: found?.status ?? 'error', image: found?.image ?? s.image }
    if (found?.error) service.errorMessage = found.error
    else if (!found) service.errorMessage = 'No container on the node.'
    else delete service.errorMessage
    return service
  })
  next.status = live.status
  if (live.error) next.errorMessage = live.error
  else delete next.errorMessage
  if (live.status === 'running' && stack.status === 'deploying') next.deployedAt = next.updatedAt
  return next
}

export function createStackReconciler(deps: ReconcileDeps): StackReconciler {
  const { store, dispatcher } = deps
  const retryMs = deps.retryMs ?? 2000
  // Bounded: an agent that reports a stack busy for longer than a command may take gets no more questions.
  const maxAttempts = Math.max(3, Math.ceil(deps.commandTimeoutMs / retryMs))

  async function reconcile(node: NodeRecord, also?: string, attempt = 0): Promise<Set<string>> {
    const wanted = (s: StackRecord) => s.nodeId === node.id && (s.id === also || (UNSETTLED.has(s.status) && !deps.busy(s.id)))
    const stuck = (await store.listStacks(node.accountId)).filter(wanted)
    const unsettled = new Set(stuck.map((s) => s.id))
    if (stuck.length === 0 || !deps.reachable(node)) return unsettled
    const { done } = await dispatcher.dispatch(node, 'list_environments', { account: node.accountId }, { timeoutMs: deps.commandTimeoutMs })
    const result = await done
    const listed = result.status === 'success' ? listedOf(result.output) : undefined
    if (!listed) return unsettled
    let again = false
    for (const { id } of stuck) {
      // Read again: a result may have settled it while the node was answering.
      const stack = await store.getStack(node.accountId, id)
      if (!stack || !wanted(stack)) {
        unsettled.delete(id)
        continue
      }
      const live = listed.find((l) => l.name === stack.name)
      if (live?.busy) {
        again = true
        continue
      }
      await store.upsertStack(settled(stack, live))
      unsettled.delete(id)
    }
    if (again && attempt < maxAttempts) {
      const timer = setTimeout(() => {
        reconcile(node, also, attempt + 1).catch((error) => deps.logger.warn(`Reconciling the stacks of node ${node.hostname} failed: ${(error as Error).message}`))
      }, retryMs)
      ;(timer as { unref?: () => void }).unref?.()
    }
    return unsettled
  }

  return { reconcile: (node, also) => reconcile(node, also) }
}
