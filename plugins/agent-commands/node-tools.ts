// The node's own Docker objects, whoever made them (issue #13): list every container with usage,
// start/stop/restart/remove one, list/remove/prune images, list/remove volumes. Containers and
// volumes of a thresh stack are refused here: they change through their stack.
import type { CommandOutcome } from '../../lib/agent-session/agent/index.ts'
import type { DockerApi } from '../../lib/docker/engine-api.ts'
import { groupContainers, listContainers, listImages, listVolumes, managedBy } from '../../lib/docker/node-inventory.ts'
import type { Args } from './stack-arguments.ts'

export const NODE_TOOLS = [
  'list_containers',
  'start_container',
  'stop_container',
  'restart_container',
  'remove_container',
  'list_images',
  'remove_image',
  'prune_images',
  'list_volumes',
  'remove_volume',
] as const

export type NodeTool = (typeof NODE_TOOLS)[number]

/** Why a node tool failed, for the hub to answer with the right status. */
export type FailureCode = 'bad_arguments' | 'not_found' | 'managed_by_stack' | 'conflict' | 'docker_error'

const json = (value: unknown) => JSON.stringify(value)
const fail = (code: FailureCode, message: string): CommandOutcome => ({ success: false, error: message, output: json({ code, message }) })
const done = (value: unknown): CommandOutcome => ({ success: true, output: json(value) })

const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/
const IMAGE = /^[a-zA-Z0-9][a-zA-Z0-9_.\/:@-]{0,254}$/
const VOLUME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/
const LABEL = /^[a-zA-Z0-9][a-zA-Z0-9_.\/-]{0,127}(=[^\u0000-\u001f]{0,200})?$/

function argument(args: Args, key: string, pattern: RegExp, what: string): string | CommandOutcome {
  const value = args[key]
  if (typeof value !== 'string' || value === '') return fail('bad_arguments', `The command needs ${key} (${what}).`)
  if (!pattern.test(value)) return fail('bad_arguments', `'${value.slice(0, 80)}' is not a valid ${what}.`)
  return value
}

const dockerMessage = (body: unknown, fallback: string) => (typeof (body as { message?: unknown })?.message === 'string' ? (body as { message: string }).message : fallback)

function dockerFailure(status: number, body: unknown, fallback: string): CommandOutcome {
  const message = dockerMessage(body, fallback)
  if (status === 404) return fail('not_found', message)
  if (status === 409) return fail('conflict', message)
  return fail('docker_error', `Docker answered ${status}: ${message}`)
}

const stackHint = (name: string, kind: 'stack' | 'proxy') =>
  kind === 'proxy'
    ? `it is the proxy thresh runs for routed stacks ('${name}'); thresh manages it`
    : `it belongs to thresh stack '${name}'; change it through the stack (thresh stack stop|start|destroy ${name}, or thresh node env remove for an environment)`

export function createNodeTools(engine: () => DockerApi): Record<NodeTool, (args: Args) => Promise<CommandOutcome>> {
  const containerAction = (action: 'start' | 'stop' | 'restart' | 'remove') => async (args: Args): Promise<CommandOutcome> => {
    const ref = argument(args, 'container', CONTAINER, 'container name or id')
    if (typeof ref !== 'string') return ref
    const api = engine()
    const found = await api.send<{ Id: string; Name?: string; Config?: { Labels?: Record<string, string> | null } }>('GET', `/containers/${encodeURIComponent(ref)}/json`)
    if (found.status === 404) return fail('not_found', `No container named '${ref}' on this node.`)
    if (found.status >= 300) return dockerFailure(found.status, found.body, `Docker could not find '${ref}'.`)
    const name = (found.body.Name ?? ref).replace(/^\//, '')
    const by = managedBy(found.body.Config?.Labels)
    if (by) return fail('managed_by_stack', `Container '${name}' cannot be changed here: ${stackHint(by.name, by.kind)}.`)
    const id = found.body.Id
    const force = args.force === true || args.force === 'true'
    const reply =
      action === 'remove'
        ? await api.send('DELETE', `/containers/${id}?force=${force}&v=false`, { timeoutMs: 60_000 })
        : await api.send('POST', `/containers/${id}/${action}${action === 'start' ? '' : '?t=10'}`, { timeoutMs: 60_000 })
    // 304: already in the state asked for.
    if (reply.status >= 300 && reply.status !== 304) return dockerFailure(reply.status, reply.body, `Docker could not ${action} '${name}'.`)
    if (action === 'remove') return done({ container: name, id: id.slice(0, 12), action, removed: true, message: `Container '${name}' removed.` })
    const after = await api.send<{ State?: { Status?: string } }>('GET', `/containers/${id}/json`)
    const state = after.body?.State?.Status ?? 'unknown'
    const verb = action === 'stop' ? 'stopped' : action === 'start' ? 'started' : 'restarted'
    return done({ container: name, id: id.slice(0, 12), action, state, message: reply.status === 304 ? `Container '${name}' was already ${action === 'stop' ? 'stopped' : 'running'}.` : `Container '${name}' ${verb}; it is ${state}.` })
  }

  return {
    async list_containers(args) {
      const containers = await listContainers(engine(), { stats: args.stats !== false })
      return done({ containers: containers.length, groups: groupContainers(containers) })
    },
    start_container: containerAction('start'),
    stop_container: containerAction('stop'),
    restart_container: containerAction('restart'),
    remove_container: containerAction('remove'),
    async list_images() {
      return done({ images: await listImages(engine()) })
    },
    async remove_image(args) {
      const ref = argument(args, 'image', IMAGE, 'image name or id')
      if (typeof ref !== 'string') return ref
      const force = args.force === true || args.force === 'true'
      const reply = await engine().send<Array<{ Untagged?: string; Deleted?: string }>>('DELETE', `/images/${encodeURIComponent(ref)}?force=${force}`, { timeoutMs: 60_000 })
      if (reply.status === 404) return fail('not_found', `No image '${ref}' on this node.`)
      if (reply.status >= 300) return dockerFailure(reply.status, reply.body, `Docker could not remove image '${ref}'.`)
      const deleted = (reply.body ?? []).filter((d) => d.Deleted).length
      return done({ image: ref, removed: true, untagged: (reply.body ?? []).flatMap((d) => (d.Untagged ? [d.Untagged] : [])), layersDeleted: deleted, message: `Image '${ref}' removed.` })
    },
    async prune_images(args) {
      const filters: Record<string, string[]> = { dangling: [args.all === true || args.all === 'true' ? 'false' : 'true'] }
      if (args.label !== undefined) {
        if (typeof args.label !== 'string' || !LABEL.test(args.label)) return fail('bad_arguments', 'label must be KEY or KEY=VALUE.')
        filters.label = [args.label]
      }
      const reply = await engine().send<{ ImagesDeleted?: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed?: number }>('POST', `/images/prune?filters=${encodeURIComponent(json(filters))}`, { timeoutMs: 120_000 })
      if (reply.status >= 300) return dockerFailure(reply.status, reply.body, 'Docker could not prune images.')
      const removed = reply.body.ImagesDeleted ?? []
      const untagged = removed.flatMap((d) => (d.Untagged ? [d.Untagged] : []))
      const reclaimedMB = Math.round(((reply.body.SpaceReclaimed ?? 0) / (1024 * 1024)) * 10) / 10
      return done({ untagged, deleted: removed.filter((d) => d.Deleted).length, reclaimedMB, message: `Pruned ${untagged.length} unused image tag(s), ${reclaimedMB} MB reclaimed.` })
    },
    async list_volumes() {
      return done({ volumes: await listVolumes(engine()) })
    },
    async remove_volume(args) {
      const ref = argument(args, 'volume', VOLUME, 'volume name')
      if (typeof ref !== 'string') return ref
      const api = engine()
      const found = await api.send<{ Labels?: Record<string, string> | null }>('GET', `/volumes/${encodeURIComponent(ref)}`)
      if (found.status === 404) return fail('not_found', `No volume named '${ref}' on this node.`)
      if (found.status >= 300) return dockerFailure(found.status, found.body, `Docker could not find volume '${ref}'.`)
      const by = managedBy(found.body.Labels)
      if (by) return fail('managed_by_stack', `Volume '${ref}' cannot be removed here: ${stackHint(by.name, by.kind)}.`)
      const reply = await api.send('DELETE', `/volumes/${encodeURIComponent(ref)}`, { timeoutMs: 60_000 })
      if (reply.status === 409) return fail('conflict', `Volume '${ref}' is in use by a container; remove the container first. (${dockerMessage(reply.body, '')})`)
      if (reply.status >= 300) return dockerFailure(reply.status, reply.body, `Docker could not remove volume '${ref}'.`)
      return done({ volume: ref, removed: true, message: `Volume '${ref}' removed.` })
    },
  }
}
