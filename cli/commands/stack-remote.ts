// `thresh stack ... --hub`: the same stack commands acted out by a hub on the fleet's nodes.
import { readFile } from 'node:fs/promises'
import process from 'node:process'
import { ThreshError } from '../../core/index.ts'
import { createHubClient, listOf, resolveHub, seg, type HubClient, type HubFlags } from '../hub-client.ts'
import { age, print, status, table } from '../table.ts'
import { findNode, listNodes, nodeFigures, type Node } from './node.ts'
import { readStackFile, type StackFileOptions } from './stack-file.ts'

export type RemoteStack = Record<string, unknown> & { id?: string; name?: string; status?: string; services?: RemoteService[] }
type RemoteService = Record<string, unknown> & { name?: string; image?: string; status?: string }

const err = (line: string) => process.stderr.write(`${line}\n`)

/** A hub client when the command should go to a hub (`--hub`, a login or THRESH_HUB_URL), else undefined. */
export function remoteClient(args: HubFlags & { local?: boolean }): HubClient | undefined {
  if (args.local) {
    if (args.hub !== undefined) throw new ThreshError({ code: 'flags_conflict', message: '--local and --hub contradict each other; pass one of them.' })
    return undefined
  }
  const target = resolveHub(args, { required: false })
  return target ? createHubClient(args, { target }) : undefined
}

/** Longer than the hub's own command timeout (5 min by default), so the hub is the one that times out. */
const WAIT_MS = 660_000

/**
 * Runs a hub stack command with `?wait=true` (the hub answers when the node is done, or with why it
 * failed) while polling the stack once a second to print each service status change on the way.
 */
async function withProgress(
  client: HubClient,
  name: string,
  quiet: boolean,
  baseline: RemoteStack | undefined,
  action: () => Promise<RemoteStack>,
  onPoll?: (stack: RemoteStack) => unknown,
): Promise<RemoteStack> {
  const seen = new Map<string, string>()
  const icons: Record<string, string> = { running: '✓', error: '✗', blocked: '⊘', stopped: '■' }
  // Only changes after the command count: a stop should not re-announce services that were running.
  const state = (svc: RemoteService) => `${svc.status}${svc.errorMessage ?? ''}`
  for (const svc of baseline?.services ?? []) seen.set(String(svc.name), state(svc))
  const report = (stack: RemoteStack | undefined) => {
    for (const svc of stack?.services ?? []) {
      const key = String(svc.name)
      if (seen.get(key) === state(svc)) continue
      seen.set(key, state(svc))
      if (quiet || !svc.status || svc.status === 'pending') continue
      print(`${icons[svc.status] ?? '·'} ${key.padEnd(20)} ${svc.status}${svc.errorMessage ? ` (${svc.errorMessage})` : ''}`)
    }
  }
  let finished = false
  let wake = () => {}
  const poll = (async () => {
    while (!finished) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 1000)
        wake = () => {
          clearTimeout(timer)
          r()
        }
      })
      if (finished) return
      const current = await infoRemote(client, name).catch(() => undefined)
      if (finished || !current) continue
      await onPoll?.(current)
      report(current)
    }
  })()
  try {
    const result = await action()
    report(result)
    return result
  } catch (error) {
    // A failed command's answer carries the stack: show which service failed before the sentence.
    if (error instanceof ThreshError && error.details && typeof error.details === 'object') report((error.details as { stack?: RemoteStack }).stack)
    throw error
  } finally {
    finished = true
    wake()
    await poll
  }
}

export async function upRemote(
  client: HubClient,
  file: string,
  options: { node?: string; cluster?: string; detach?: boolean; quiet?: boolean; rollback?: boolean } & StackFileOptions,
): Promise<RemoteStack> {
  const rollback: Record<string, string> = options.rollback === undefined ? {} : { rollback: String(options.rollback) }
  const { stack, definition } = await readStackFile(file, err, { ...options, remote: true })
  if (options.node !== undefined && options.cluster !== undefined) {
    throw new ThreshError({ code: 'flags_conflict', message: '--node and --cluster contradict each other; pass one of them.' })
  }
  let node: Node | undefined
  if (options.node !== undefined) {
    node = await findNode(client, options.node)
    definition.targetNode = node.id
    delete definition.targetCluster
  }
  if (options.cluster !== undefined) {
    definition.targetCluster = options.cluster
    delete definition.targetNode
  }
  if (!options.quiet) print(`🚀 Deploying stack ${stack.name} (${stack.services.length} services) through ${client.url}…`)
  if (options.detach) {
    const answer = await client.post<RemoteStack>('/api/stacks/deploy', definition, { query: rollback })
    if (!options.quiet) {
      print(`   ID:   ${answer?.id ?? '-'}`)
      print(`   Node: ${await nodeName(client, answer, node)}`)
    }
    return answer
  }
  let announced = false
  const announce = async (current: RemoteStack | undefined) => {
    if (announced || options.quiet || !current?.id) return
    announced = true
    print(`   ID:   ${current.id}`)
    print(`   Node: ${await nodeName(client, current, node)}`)
  }
  const before = await infoRemote(client, stack.name).catch(() => undefined)
  const result = await withProgress(
    client,
    stack.name,
    options.quiet === true,
    before,
    () => client.post<RemoteStack>('/api/stacks/deploy', definition, { query: { wait: 'true', ...rollback }, timeoutMs: WAIT_MS }),
    // The stack is on the hub as soon as the deploy is accepted: name its id and node early.
    (current) => (current.id !== before?.id || current.updatedAt !== before?.updatedAt ? announce(current) : undefined),
  )
  await announce(result)
  return result
}

function nodeRef(stack: RemoteStack): string | undefined {
  for (const key of ['nodeName', 'nodeHostname', 'targetNodeName', 'node', 'nodeId', 'targetNodeId', 'targetNode']) {
    const value = stack[key]
    if (typeof value === 'string' && value) return value
    if (value && typeof value === 'object' && typeof (value as Record<string, unknown>).hostname === 'string') return (value as Record<string, string>).hostname
  }
  return undefined
}

async function nodeName(client: HubClient, stack: RemoteStack | undefined, known?: Node): Promise<string> {
  if (known) return nodeFigures(known).hostname
  const ref = stack && nodeRef(stack)
  if (!ref) return '-'
  try {
    const node = (await listNodes(client)).find((n) => n.id === ref || n.hostname === ref)
    return node ? nodeFigures(node).hostname : ref
  } catch {
    return ref
  }
}

export async function listRemote(client: HubClient): Promise<RemoteStack[]> {
  return listOf<RemoteStack>(await client.get('/api/stacks'), 'stacks')
}

/** How the hub's errorMessage starts when the last deploy failed and was undone (the stack runs as before). */
const ROLLED_BACK = 'rolled back:'

export async function formatRemoteList(client: HubClient, stacks: RemoteStack[]): Promise<string> {
  if (stacks.length === 0) return 'No stacks on this hub: deploy one with thresh stack up FILE.'
  const nodes = await listNodes(client).catch(() => [] as Node[])
  const hostname = (ref: string | undefined) => {
    const node = ref === undefined ? undefined : nodes.find((n) => n.id === ref || n.hostname === ref)
    return node ? nodeFigures(node).hostname : ref ?? '-'
  }
  return table([
    ['NAME', 'STATUS', 'NODE', 'SVCS', 'AGE'],
    ...stacks.map((s) => {
      const services = s.services ?? []
      const count = services.length ? `${services.filter((x) => x.status === 'running').length}/${services.length}` : String(s.serviceCount ?? '-')
      const note = typeof s.errorMessage === 'string' && s.errorMessage.startsWith(ROLLED_BACK) ? ' (rolled back)' : ''
      return [String(s.name ?? '-'), `${status(s.status)}${note}`, hostname(nodeRef(s)), count, age(s.deployedAt ?? s.createdAt)]
    }),
  ])
}

export async function infoRemote(client: HubClient, name: string): Promise<RemoteStack> {
  return client.get<RemoteStack>(`/api/stacks/${seg(name)}`)
}

export async function formatRemoteInfo(client: HubClient, stack: RemoteStack): Promise<string> {
  const lines = [`Stack ${stack.name}: ${status(stack.status)}${stack.traefik ? ' (Traefik)' : ''}`, `Node:  ${await nodeName(client, stack)}`]
  const why = stack.errorMessage ?? stack.error
  if (typeof why === 'string' && why) lines.push(`${why.startsWith(ROLLED_BACK) ? 'Last deploy' : 'Error'}: ${why}`)
  lines.push('')
  const services = stack.services ?? []
  const ports = (svc: RemoteService) => (Array.isArray(svc.ports) ? svc.ports.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(', ') : '') || '-'
  const rendered = table([['NAME', 'IMAGE', 'STATUS', 'PORTS'], ...services.map((s) => [String(s.name), String(s.image ?? '-'), status(s.status), ports(s)])]).split('\n')
  lines.push(rendered[0]!)
  services.forEach((s, i) => {
    lines.push(rendered[i + 1]!)
    const error = s.errorMessage ?? s.error
    if (typeof error === 'string' && error) lines.push(`  ↳ error: ${error}`)
  })
  return lines.join('\n')
}

type Options = { detach?: boolean; quiet?: boolean }

/** A stack command: answered at once with --detach, else followed until the node has carried it out. */
async function command(client: HubClient, name: string, method: 'POST' | 'PATCH', path: string, body: unknown, options: Options): Promise<RemoteStack> {
  if (options.detach) return client.request<RemoteStack>(method, path, body ?? {})
  const before = await infoRemote(client, name)
  return withProgress(client, name, options.quiet === true, before, () =>
    client.request<RemoteStack>(method, path, body ?? {}, { query: { wait: 'true' }, timeoutMs: WAIT_MS }),
  )
}

export function updateRemote(client: HubClient, name: string, service: string, image: string, options: Options): Promise<RemoteStack> {
  return command(client, name, 'PATCH', `/api/stacks/${seg(name)}/services/${seg(service)}`, { image }, options)
}

export function stopRemote(client: HubClient, name: string, options: Options): Promise<RemoteStack> {
  return command(client, name, 'POST', `/api/stacks/${seg(name)}/stop`, undefined, options)
}

export function startRemote(client: HubClient, name: string, options: Options): Promise<RemoteStack> {
  return command(client, name, 'POST', `/api/stacks/${seg(name)}/start`, undefined, options)
}

/** Removes the stack's containers, network and volumes on its node; without --detach, waits until that is done. */
export async function destroyRemote(client: HubClient, name: string, options: { detach?: boolean } = {}): Promise<unknown> {
  return client.delete(`/api/stacks/${seg(name)}`, options.detach ? {} : { query: { wait: 'true' }, timeoutMs: WAIT_MS })
}
