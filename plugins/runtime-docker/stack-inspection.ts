// Reads a stack back from Docker alone, by its labels: its containers, their state, the plan they were
// made from (each container's spec label), and what deploying a definition would change.
import type Docker from 'dockerode'
import { formatPort, LABELS, objectName, type DeployDiff, type ServiceState, type ServiceStatus, type StackPlan, type StackState, type StackStatus } from '../../lib/stack/index.ts'
import { readSpec, type ServiceSpec } from './container-spec.ts'
import { unreachable } from './docker-errors.ts'
import { isAsideName } from '../../lib/docker/aside.ts'

/** A container of the stack, with the spec it was created from (absent on containers thresh did not make). */
export interface Existing {
  info: Docker.ContainerInfo
  spec: ServiceSpec | undefined
}

export const serviceOf = (e: Existing): string | undefined => e.info.Labels[LABELS.service]

/** An old container a deploy in progress set aside (see rollout.ts): not part of the stack's current state. */
export const isAside = (e: Existing): boolean => isAsideName(e.info.Names?.[0])

/** The stack's containers without those set aside by a deploy in progress. */
export const current = (existing: Existing[]): Existing[] => existing.filter((e) => !isAside(e))

/** The first failed service of a deploy's results, else the first blocked one. */
export function firstFailure(results: Map<string, ServiceState>): ServiceState | undefined {
  const all = [...results.values()]
  return all.find((s) => s.status === 'error') ?? all.find((s) => s.status === 'blocked')
}

/** Docker's label filter for an account's objects, or one stack's. */
export function labelFilters(account: string, stack?: string): string {
  const label = [`${LABELS.managed}=true`, `${LABELS.account}=${account}`]
  if (stack) label.push(`${LABELS.stack}=${stack}`)
  return JSON.stringify({ label })
}

export async function containersOf(docker: Docker, account: string, stack?: string): Promise<Existing[]> {
  try {
    const infos = await docker.listContainers({ all: true, filters: labelFilters(account, stack) })
    return infos.map((info) => ({ info, spec: readSpec(info.Labels) }))
  } catch (error) {
    throw unreachable(error)
  }
}

/** The stack's state from its containers; `override` holds results a deploy or start just produced. */
export function stateFrom(name: string, account: string, existing: Existing[], override?: Map<string, ServiceState>): StackState {
  const services: ServiceState[] = existing
    .filter((e) => serviceOf(e))
    .map((e) => {
      const svc = serviceOf(e)!
      const o = override?.get(svc)
      if (o) return o
      const running = e.info.State === 'running'
      return {
        name: svc,
        image: e.spec?.image ?? e.info.Image,
        status: (running ? 'running' : e.info.State === 'created' || e.info.State === 'exited' ? 'stopped' : 'error') as ServiceStatus,
        ports: (e.spec?.ports ?? []).map(formatPort),
        containerId: e.info.Id,
        ...(e.info.Labels[LABELS.configHash] ? { configHash: e.info.Labels[LABELS.configHash] } : {}),
      }
    })
  for (const [svc, o] of override ?? []) if (!services.some((s) => s.name === svc)) services.push(o)
  const order = (s: ServiceState) => existing.find((e) => serviceOf(e) === s.name)?.spec?.level ?? 99
  services.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name))
  const created = existing.map((e) => e.info.Created).sort()[0]
  // A one-shot service others wait to complete (a migration) is done, not down, once it exited with 0.
  const oneShot = new Set(
    existing.flatMap((e) => Object.entries(e.spec?.dependsOnConditions ?? {}).filter(([, c]) => c === 'service_completed_successfully').map(([d]) => d)),
  )
  const done = (s: ServiceState) =>
    oneShot.has(s.name) && s.status === 'stopped' && !s.error && (override?.has(s.name) || / \(0\)/.test(existing.find((e) => serviceOf(e) === s.name)?.info.Status ?? ''))
  return {
    name,
    account,
    status: stackStatus(services, done),
    services,
    traefik: existing.some((e) => e.spec?.traefik),
    ...(services.find((s) => s.error) ? { error: `${services.find((s) => s.status === 'error')?.name ?? ''}: ${services.find((s) => s.status === 'error')?.error ?? ''}` } : {}),
    ...(created !== undefined ? { createdAt: new Date(created * 1000).toISOString() } : {}),
  }
}

function stackStatus(services: ServiceState[], done: (s: ServiceState) => boolean): StackStatus {
  if (services.some((s) => s.status === 'error' || s.status === 'blocked')) return 'error'
  if (services.some((s) => s.status === 'running') && services.every((s) => s.status === 'running' || done(s))) return 'running'
  if (services.every((s) => s.status === 'stopped')) return 'stopped'
  return 'partial'
}

/** What deploying `plan` over `existing` creates, recreates (its config hash changed), keeps and removes. */
export function diff(plan: StackPlan, existing: Existing[]): DeployDiff {
  const result: DeployDiff = { stack: plan.name, create: [], recreate: [], unchanged: [], remove: [] }
  for (const service of plan.services) {
    const found = existing.find((e) => serviceOf(e) === service.name)
    if (!found) result.create.push(service.name)
    else if (found.info.Labels[LABELS.configHash] !== service.configHash) result.recreate.push(service.name)
    else result.unchanged.push(service.name)
  }
  for (const e of existing) {
    const svc = serviceOf(e)
    if (svc && !plan.services.some((s) => s.name === svc)) result.remove.push(svc)
  }
  return result
}

/** The plan a running stack was deployed from, rebuilt from its containers' spec labels (start, update, stop). */
export function planFrom(account: string, stack: string, existing: Existing[]): StackPlan | undefined {
  const specs = existing.map((e) => e.spec).filter((s): s is ServiceSpec => s !== undefined)
  if (specs.length === 0) return undefined
  const levels: string[][] = []
  for (const spec of specs) (levels[spec.level] ??= []).push(spec.name)
  const labels = { [LABELS.managed]: 'true', [LABELS.account]: account, [LABELS.stack]: stack }
  const services = specs.map((spec) => {
    const e = existing.find((x) => x.spec === spec)!
    return { ...spec, labels: { ...labels, [LABELS.service]: spec.name, [LABELS.configHash]: e.info.Labels[LABELS.configHash] ?? '' } }
  })
  const network = existing[0]!.info.NetworkSettings?.Networks ? Object.keys(existing[0]!.info.NetworkSettings.Networks)[0] : undefined
  return {
    name: stack,
    account,
    levels: levels.filter(Boolean),
    services,
    traefik: specs.some((s) => s.traefik),
    objects: { network: { name: network ?? objectName(stack, account, 'net'), labels }, volumes: [], containers: [] },
  }
}
