// `thresh stack ... --hub`: the same stack commands acted out by a hub on the fleet's nodes.
import { readFile } from 'node:fs/promises'
import process from 'node:process'
import { ThreshError } from '../../core/index.ts'
import { createHubClient, listOf, resolveHub, seg, type HubClient, type HubFlags } from '../hub-client.ts'
import { age, print, status, table } from '../table.ts'
import { findNode, listNodes, nodeFigures, type Node } from './node.ts'
import { loadStack } from './stack-local.ts'

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

const transitional = new Set(['pending', 'deploying', 'updating', 'stopping', 'starting', 'destroying', 'pulling', 'queued'])

/** Follows a stack on the hub until it settles, printing each service status change; fails on `error`. */
async function follow(client: HubClient, name: string, quiet: boolean, baseline?: RemoteStack, timeoutMs = 300_000): Promise<RemoteStack> {
  const deadline = Date.now() + timeoutMs
  const seen = new Map<string, string>()
  // Only changes after the command count: a stop should not re-announce services that were running.
  for (const svc of baseline?.services ?? []) seen.set(String(svc.name), `${svc.status}${svc.errorMessage ?? svc.error ?? ''}`)
  const icons: Record<string, string> = { running: '✓', error: '✗', blocked: '⊘', stopped: '■' }
  for (;;) {
    const stack = await client.get<RemoteStack>(`/api/stacks/${seg(name)}`)
    for (const svc of stack.services ?? []) {
      const key = String(svc.name)
      const now = `${svc.status}${svc.errorMessage ?? svc.error ?? ''}`
      if (!quiet && seen.get(key) !== now && svc.status && svc.status !== 'pending') {
        const why = svc.errorMessage ?? svc.error
        print(`${icons[svc.status] ?? '·'} ${key.padEnd(20)} ${svc.status}${why ? ` (${why})` : ''}`)
      }
      seen.set(key, now)
    }
    const state = String(stack.status ?? '')
    if (!transitional.has(state)) {
      if (state === 'error') {
        const why = stack.errorMessage ?? stack.error ?? (stack.services ?? []).find((s) => s.status === 'error')?.errorMessage
        throw new ThreshError({ code: 'stack_failed', message: `Stack ${name} failed${typeof why === 'string' && why ? `: ${why.replace(/\.$/, '')}` : ''}.` })
      }
      return stack
    }
    if (Date.now() > deadline) {
      throw new ThreshError({ code: 'stack_timeout', message: `Stack ${name} is still ${state} after ${timeoutMs / 1000} s; follow it with thresh stack info ${name}.` })
    }
    await new Promise((r) => setTimeout(r, 1000))
  }
}

export async function upRemote(
  client: HubClient,
  file: string,
  options: { node?: string; cluster?: string; detach?: boolean; quiet?: boolean },
): Promise<RemoteStack> {
  const stack = await loadStack(file, err)
  const definition = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
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
  const answer = await client.post<RemoteStack>('/api/stacks/deploy', definition, { timeoutMs: 120_000 })
  if (!options.quiet) {
    print(`   ID:   ${answer?.id ?? '-'}`)
    print(`   Node: ${await nodeName(client, answer, node)}`)
  }
  if (options.detach) return answer
  return follow(client, stack.name, options.quiet === true)
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
      return [String(s.name ?? '-'), status(s.status), hostname(nodeRef(s)), count, age(s.deployedAt ?? s.createdAt)]
    }),
  ])
}

export async function infoRemote(client: HubClient, name: string): Promise<RemoteStack> {
  return client.get<RemoteStack>(`/api/stacks/${seg(name)}`)
}

export async function formatRemoteInfo(client: HubClient, stack: RemoteStack): Promise<string> {
  const lines = [`Stack ${stack.name}: ${status(stack.status)}${stack.traefik ? ' (Traefik)' : ''}`, `Node:  ${await nodeName(client, stack)}`]
  const why = stack.errorMessage ?? stack.error
  if (typeof why === 'string' && why) lines.push(`Error: ${why}`)
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

export async function updateRemote(client: HubClient, name: string, service: string, image: string, options: { detach?: boolean; quiet?: boolean }): Promise<RemoteStack> {
  const answer = await client.patch<RemoteStack>(`/api/stacks/${seg(name)}/services/${seg(service)}`, { image }, { timeoutMs: 120_000 })
  return options.detach ? answer : follow(client, name, options.quiet === true, answer)
}

export async function stopRemote(client: HubClient, name: string, options: { detach?: boolean; quiet?: boolean }): Promise<RemoteStack> {
  const answer = await client.post<RemoteStack>(`/api/stacks/${seg(name)}/stop`, undefined, { timeoutMs: 120_000 })
  return options.detach ? answer : follow(client, name, options.quiet === true, answer)
}

export async function startRemote(client: HubClient, name: string, options: { detach?: boolean; quiet?: boolean }): Promise<RemoteStack> {
  const answer = await client.post<RemoteStack>(`/api/stacks/${seg(name)}/start`, undefined, { timeoutMs: 120_000 })
  return options.detach ? answer : follow(client, name, options.quiet === true, answer)
}

/** Removes the stack on its node and waits until the hub has forgotten it (404) or reports why not. */
export async function destroyRemote(client: HubClient, name: string, options: { detach?: boolean } = {}): Promise<unknown> {
  const answer = await client.delete(`/api/stacks/${seg(name)}`, { timeoutMs: 120_000 })
  if (options.detach) return answer
  const deadline = Date.now() + 300_000
  for (;;) {
    let stack: RemoteStack
    try {
      stack = await infoRemote(client, name)
    } catch (error) {
      if ((error as ThreshError).status === 404) return answer
      throw error
    }
    if (stack.status === 'error') {
      const why = stack.errorMessage ?? stack.error
      throw new ThreshError({ code: 'stack_failed', message: `Destroying stack ${name} failed${typeof why === 'string' && why ? `: ${why.replace(/\.$/, '')}` : ''}.` })
    }
    if (!transitional.has(String(stack.status ?? ''))) return stack
    if (Date.now() > deadline) throw new ThreshError({ code: 'stack_timeout', message: `Stack ${name} is still ${stack.status} after 300 s.` })
    await new Promise((r) => setTimeout(r, 1000))
  }
}
