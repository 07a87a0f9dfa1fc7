// Everything on a node's Docker engine, whoever made it: containers grouped by thresh stack and by
// Compose project, with state, health, uptime, restarts, ports and live usage; images and volumes
// with what uses them. Read through the plain Engine API (engine-api.ts).
import { LABELS } from '../stack/plan.ts'
import { mapBounded, usageOf, type ContainerUsage, type RawStats } from './container-stats.ts'
import type { DockerApi } from './engine-api.ts'

export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project'
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service'
/** The label runtime-traefik puts on the proxy it provisions. */
export const PROXY_LABEL = 'thresh.proxy'

export type GroupKind = 'stack' | 'compose' | 'other'

export interface NodeContainer extends Partial<ContainerUsage> {
  id: string
  name: string
  image: string
  /** created | running | paused | restarting | removing | exited | dead */
  state: string
  /** Docker's sentence ("Up 5 minutes (healthy)"). */
  status: string
  health: string | null
  createdAt: string
  startedAt: string | null
  uptimeSeconds: number | null
  restartCount: number
  ports: string[]
  group: { kind: GroupKind; name: string | null }
  /** Set when thresh manages it (a stack's service, or the proxy): change it through thresh, not directly. */
  managedBy?: { kind: 'stack' | 'proxy'; name: string; service?: string }
}

export interface ContainerGroup {
  kind: GroupKind
  name: string | null
  containers: NodeContainer[]
}

interface ListedContainer {
  Id: string
  Names?: string[]
  Image?: string
  ImageID?: string
  Created?: number
  State?: string
  Status?: string
  Labels?: Record<string, string> | null
  Ports?: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type?: string }>
  Mounts?: Array<{ Type?: string; Name?: string }>
}

interface Inspected {
  RestartCount?: number
  State?: { StartedAt?: string; Running?: boolean; Health?: { Status?: string } }
}

const nameOf = (c: ListedContainer) => (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, '')

export function portsOf(c: ListedContainer): string[] {
  const seen = new Set<string>()
  for (const p of c.Ports ?? []) {
    const proto = p.Type ?? 'tcp'
    const host = p.PublicPort ? `${p.IP && p.IP !== '0.0.0.0' && p.IP !== '::' ? (p.IP.includes(':') ? `[${p.IP}]` : p.IP) : '0.0.0.0'}:${p.PublicPort}->` : ''
    // Docker lists a port published on IPv4 and IPv6 twice; once is enough.
    seen.add(`${host.replace(/^\[::\]/, '0.0.0.0')}${p.PrivatePort}/${proto}`)
  }
  return [...seen].sort()
}

export function managedBy(labels: Record<string, string> | null | undefined): NodeContainer['managedBy'] {
  const stack = labels?.[LABELS.stack]
  if (stack) return { kind: 'stack', name: stack, ...(labels?.[LABELS.service] ? { service: labels[LABELS.service] } : {}) }
  const proxy = labels?.[PROXY_LABEL]
  if (proxy) return { kind: 'proxy', name: proxy }
  return undefined
}

function groupOf(labels: Record<string, string> | null | undefined): NodeContainer['group'] {
  if (labels?.[LABELS.stack]) return { kind: 'stack', name: labels[LABELS.stack]! }
  if (labels?.[COMPOSE_PROJECT_LABEL]) return { kind: 'compose', name: labels[COMPOSE_PROJECT_LABEL]! }
  return { kind: 'other', name: null }
}

export interface ListOptions {
  /** Ask for live usage of running containers (Docker's stats, stream=false). Default true. */
  stats?: boolean
  /** Containers inspected and sampled at once. */
  concurrency?: number
  now?: number
}

/** Every container on the engine, running or not. */
export async function listContainers(api: DockerApi, options: ListOptions = {}): Promise<NodeContainer[]> {
  const listed = await api.get<ListedContainer[]>('/containers/json?all=1')
  const now = options.now ?? Date.now()
  return mapBounded(listed, options.concurrency ?? 8, async (c) => {
    const running = c.State === 'running'
    const [inspected, stats] = await Promise.all([
      api.get<Inspected>(`/containers/${c.Id}/json`).catch(() => undefined),
      running && options.stats !== false ? api.get<RawStats>(`/containers/${c.Id}/stats?stream=false`).catch(() => undefined) : undefined,
    ])
    const started = inspected?.State?.StartedAt && !inspected.State.StartedAt.startsWith('0001-') ? inspected.State.StartedAt : null
    const by = managedBy(c.Labels)
    return {
      id: c.Id.slice(0, 12),
      name: nameOf(c),
      image: c.Image ?? '',
      state: c.State ?? 'unknown',
      status: c.Status ?? '',
      health: inspected?.State?.Health?.Status ?? null,
      createdAt: new Date((c.Created ?? 0) * 1000).toISOString(),
      startedAt: started,
      uptimeSeconds: running && started ? Math.max(0, Math.round((now - Date.parse(started)) / 1000)) : null,
      restartCount: inspected?.RestartCount ?? 0,
      ports: portsOf(c),
      group: groupOf(c.Labels),
      ...(by ? { managedBy: by } : {}),
      ...(stats ? usageOf(stats) : {}),
    }
  })
}

const ORDER: Record<GroupKind, number> = { stack: 0, compose: 1, other: 2 }

/** Thresh stacks first, then Compose projects, then the rest, each by name. */
export function groupContainers(containers: NodeContainer[]): ContainerGroup[] {
  const groups = new Map<string, ContainerGroup>()
  for (const c of containers) {
    const key = `${c.group.kind}/${c.group.name ?? ''}`
    let group = groups.get(key)
    if (!group) groups.set(key, (group = { kind: c.group.kind, name: c.group.name, containers: [] }))
    group.containers.push(c)
  }
  for (const g of groups.values()) g.containers.sort((a, b) => a.name.localeCompare(b.name))
  return [...groups.values()].sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || (a.name ?? '').localeCompare(b.name ?? ''))
}

export interface NodeImage {
  id: string
  tags: string[]
  sizeMB: number
  createdAt: string
  /** Containers (any state) made from it: an image in use cannot be removed. */
  containers: number
}

export async function listImages(api: DockerApi): Promise<NodeImage[]> {
  const [images, containers] = await Promise.all([
    api.get<Array<{ Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Size?: number; Created?: number }>>('/images/json'),
    api.get<ListedContainer[]>('/containers/json?all=1'),
  ])
  const uses = new Map<string, number>()
  for (const c of containers) if (c.ImageID) uses.set(c.ImageID, (uses.get(c.ImageID) ?? 0) + 1)
  return images
    .map((i) => ({
      id: i.Id.replace(/^sha256:/, '').slice(0, 12),
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      sizeMB: Math.round(((i.Size ?? 0) / (1024 * 1024)) * 10) / 10,
      createdAt: new Date((i.Created ?? 0) * 1000).toISOString(),
      containers: uses.get(i.Id) ?? 0,
    }))
    .sort((a, b) => (a.tags[0] ?? '~' + a.id).localeCompare(b.tags[0] ?? '~' + b.id))
}

export interface NodeVolume {
  name: string
  driver: string
  createdAt: string | null
  /** Containers (any state) mounting it. */
  containers: string[]
  managedBy?: { kind: 'stack'; name: string }
}

export async function listVolumes(api: DockerApi): Promise<NodeVolume[]> {
  const [volumes, containers] = await Promise.all([
    api.get<{ Volumes?: Array<{ Name: string; Driver?: string; CreatedAt?: string; Labels?: Record<string, string> | null }> | null }>('/volumes'),
    api.get<ListedContainer[]>('/containers/json?all=1'),
  ])
  const users = new Map<string, string[]>()
  for (const c of containers) for (const m of c.Mounts ?? []) if (m.Type === 'volume' && m.Name) users.set(m.Name, [...(users.get(m.Name) ?? []), nameOf(c)])
  return (volumes.Volumes ?? [])
    .map((v) => {
      const stack = v.Labels?.[LABELS.stack]
      return {
        name: v.Name,
        driver: v.Driver ?? 'local',
        createdAt: v.CreatedAt ?? null,
        containers: (users.get(v.Name) ?? []).sort(),
        ...(stack ? { managedBy: { kind: 'stack' as const, name: stack } } : {}),
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}
