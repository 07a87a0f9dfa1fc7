// Every container, image, volume and environment on one node (issue #13), through the node tools of
// agent-commands: reads for viewers, audited actions for operators. A hub stack's containers are
// refused by the agent; a hub stack is never removed as an "environment" here.
import { ThreshError } from '../../core/index.ts'
import { actorOf, type Principal } from '../../lib/auth/principal.ts'
import type { ContainerSeries, FleetStore, NodeRecord } from '../../lib/storage/types.ts'
import type { AuditLog } from '../hub-auth/index.ts'
import type { Dispatcher } from './dispatcher.ts'

export type ContainerAction = 'start' | 'stop' | 'restart' | 'remove'

/** A node tool's answer: its parsed output, or the agent's refusal with a code the API maps to a status. */
export type NodeToolResult = { ok: true; commandId: string; value: Record<string, unknown> } | { ok: false; commandId: string; code: string; message: string; timedOut: boolean }

export interface Environment {
  name: string
  status: string
  services: Array<{ name: string; image?: string; status?: string }>
}

export interface NodeObjects {
  read(accountId: string, idOrName: string, tool: 'list_containers' | 'list_images' | 'list_volumes'): Promise<NodeToolResult>
  containerAction(principal: Principal, idOrName: string, container: string, action: ContainerAction, force: boolean): Promise<NodeToolResult>
  removeImage(principal: Principal, idOrName: string, image: string, force: boolean): Promise<NodeToolResult>
  pruneImages(principal: Principal, idOrName: string, options: { all: boolean; label?: string }): Promise<NodeToolResult>
  removeVolume(principal: Principal, idOrName: string, volume: string): Promise<NodeToolResult>
  /** Stacks on the node the hub does not manage: made with `thresh node up` (or a local `thresh stack up`). */
  environments(accountId: string, idOrName: string): Promise<{ commandId: string; environments: Environment[] } | Extract<NodeToolResult, { ok: false }>>
  removeEnvironment(principal: Principal, idOrName: string, name: string): Promise<NodeToolResult>
  /** Stored per-container CPU and memory (one point per container and minute), read from the store without asking the node. */
  containerHistory(accountId: string, idOrName: string, from: Date, to: Date, container?: string): Promise<{ nodeId: string; containers: ContainerSeries[] }>
}

const parse = (text: string | null | undefined): unknown => {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined
  } catch {
    return undefined
  }
}
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function createNodeObjects(deps: { store: FleetStore; dispatcher: Dispatcher; audit: AuditLog; findNode(accountId: string, idOrName: string): Promise<NodeRecord>; timeoutMs: number }): NodeObjects {
  const { store, dispatcher, audit } = deps

  async function run(node: NodeRecord, tool: string, args: Record<string, unknown>, timeoutMs = deps.timeoutMs): Promise<NodeToolResult> {
    const { done } = await dispatcher.dispatch(node, tool, args, { timeoutMs })
    const record = await done
    const output = parse(record.output)
    if (record.status === 'success' && isRecord(output)) return { ok: true, commandId: record.id, value: output }
    const timedOut = record.status === 'timeout'
    const code = isRecord(output) && typeof output.code === 'string' ? output.code : timedOut ? 'command_timeout' : 'command_failed'
    // An agent without the node tools answers "Unknown tool"; say what that means.
    const message = /^Unknown tool/.test(record.error ?? '') ? `This node's agent is too old for '${tool}'; update thresh on the node.` : (record.error ?? 'The node could not carry out the command.')
    return { ok: false, commandId: record.id, code, message, timedOut }
  }

  async function acting(principal: Principal, idOrName: string, tool: string, args: Record<string, unknown>, action: string, target: string, timeoutMs?: number) {
    const node = await deps.findNode(principal.accountId, idOrName)
    const result = await run(node, tool, args, timeoutMs)
    await audit.record({ accountId: principal.accountId, actor: actorOf(principal), action, target: `node:${node.hostname}/${target}`, details: { ...args, outcome: result.ok ? 'done' : result.code } })
    return result
  }

  async function hubStackOn(node: NodeRecord, name: string) {
    const stack = await store.getStackByName(node.accountId, name)
    return stack && stack.nodeId === node.id ? stack : undefined
  }

  return {
    async read(accountId, idOrName, tool) {
      return run(await deps.findNode(accountId, idOrName), tool, {}, tool === 'list_containers' ? Math.max(deps.timeoutMs, 60_000) : deps.timeoutMs)
    },
    containerAction(principal, idOrName, container, action, force) {
      return acting(principal, idOrName, `${action}_container`, { container, ...(action === 'remove' ? { force } : {}) }, `container.${action}`, `container:${container}`, 90_000)
    },
    removeImage(principal, idOrName, image, force) {
      return acting(principal, idOrName, 'remove_image', { image, force }, 'image.remove', `image:${image}`, 90_000)
    },
    pruneImages(principal, idOrName, options) {
      return acting(principal, idOrName, 'prune_images', { all: options.all, ...(options.label ? { label: options.label } : {}) }, 'image.prune', 'images', 150_000)
    },
    removeVolume(principal, idOrName, volume) {
      return acting(principal, idOrName, 'remove_volume', { volume }, 'volume.remove', `volume:${volume}`, 90_000)
    },
    async environments(accountId, idOrName) {
      const node = await deps.findNode(accountId, idOrName)
      const { done } = await dispatcher.dispatch(node, 'list_environments', { account: node.accountId }, { timeoutMs: deps.timeoutMs })
      const record = await done
      const listed = parse(record.output)
      if (record.status !== 'success' || !Array.isArray(listed)) return { ok: false, commandId: record.id, code: record.status === 'timeout' ? 'command_timeout' : 'command_failed', message: record.error ?? 'The node could not list its environments.', timedOut: record.status === 'timeout' }
      const managed = new Set((await store.listStacks(accountId)).filter((s) => s.nodeId === node.id).map((s) => s.name))
      const environments = listed
        .filter(isRecord)
        .filter((e) => typeof e.name === 'string' && !managed.has(e.name))
        .map((e) => ({
          name: e.name as string,
          status: typeof e.status === 'string' ? e.status : 'unknown',
          services: (Array.isArray(e.services) ? e.services : []).filter(isRecord).map((s) => ({ name: String(s.name ?? ''), ...(typeof s.image === 'string' ? { image: s.image } : {}), ...(typeof s.status === 'string' ? { status: s.status } : {}) })),
        }))
        .sort((a, b) => a.name.localeCompare(b.name))
      return { commandId: record.id, environments }
    },
    async containerHistory(accountId, idOrName, from, to, container) {
      const node = await deps.findNode(accountId, idOrName)
      return { nodeId: node.id, containers: await store.queryContainerMetrics(accountId, node.id, { from, to, ...(container ? { container } : {}) }) }
    },
    async removeEnvironment(principal, idOrName, name) {
      const node = await deps.findNode(principal.accountId, idOrName)
      if (await hubStackOn(node, name)) throw new ThreshError({ code: 'managed_by_stack', status: 409, plugin: 'hub-fleet', message: `'${name}' is a stack the hub deployed, not an environment; destroy it with 'thresh stack destroy ${name}'.` })
      const result = await run(node, 'destroy_stack', { stackName: name, account: node.accountId }, 90_000)
      await audit.record({ accountId: principal.accountId, actor: actorOf(principal), action: 'node.env-remove', target: `node:${node.hostname}/env:${name}`, details: { outcome: result.ok ? 'done' : result.code } })
      if (result.ok && result.value.destroyed === false) return { ok: false, commandId: result.commandId, code: 'not_found', message: `No environment named '${name}' on node ${node.hostname}.`, timedOut: false }
      return result.ok ? { ...result, value: { name, removed: true, message: `Environment '${name}' removed with its volumes.` } } : result
    },
  }
}
