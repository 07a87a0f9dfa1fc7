// Brings a planned stack to running: its network and volumes first, then start level by start level,
// the services of a level together, a failed service blocking its dependents; and removes them on destroy.
import type Docker from 'dockerode'
import { formatPort, isBlueGreen, LABELS, type PlannedService, type ProgressEvent, type ServiceState, type ServiceStatus, type StackPlan } from '../../lib/stack/index.ts'
import type { Containers } from './containers.ts'
import { createServiceContainer, ensureExtraNetworks } from './service-container.ts'
import { PLUGIN, reason, statusCode } from './docker-errors.ts'
import { ThreshError } from '../../core/index.ts'
import type { Existing } from './stack-inspection.ts'
import { asideName, type Journal, type SetAside } from './rollout.ts'
import type { StartWatch } from './start-watch.ts'

export interface ConvergeContext {
  watch: StartWatch
  journal: Journal
  emit: (e: ProgressEvent) => void
  /** Labels the proxy wants on the service's container (empty when unrouted). */
  extraLabels: Record<string, string>
  /** The dependency that died since it started, if any: checked right before this service starts. */
  deadDependency(): string | undefined
}

export interface Converger {
  /** The stack's network and named volumes, created when missing (and recorded in `journal`). */
  ensureObjects(plan: StackPlan, journal?: Journal): Promise<void>
  /** Removes the networks and volumes that match Docker label `filters`; returns how many there were. */
  removeObjects(filters: string): Promise<number>
  /**
   * Brings one service to running (reusing its container when its config is unchanged); returns its
   * final state. A changed service's old container is set aside (see rollout.ts), not removed.
   */
  converge(plan: StackPlan, service: PlannedService, found: Existing | undefined, pulled: Promise<void>, ctx: ConvergeContext): Promise<ServiceState>
}

// A name already taken by an object of another account or stack (made by hand, or by thresh before #14)
// is refused: sharing it would hand this stack the other one's data or network.
function assertOwned(kind: string, name: string, labels: Record<string, string> | undefined, wanted: Record<string, string>): void {
  if (labels?.[LABELS.account] === wanted[LABELS.account] && labels?.[LABELS.stack] === wanted[LABELS.stack]) return
  throw new ThreshError({
    code: 'name_taken',
    message: `The Docker ${kind} ${name} already exists and does not belong to stack ${wanted[LABELS.stack]}; remove or rename it first`,
    plugin: PLUGIN,
    status: 409,
  })
}

export function createConverger(docker: Docker, containers: Containers, filesDir: string): Converger {
  async function ensureNetwork(plan: StackPlan, journal?: Journal): Promise<void> {
    const name = plan.objects.network.name
    const found = await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) })
    const same = found.find((n) => n.Name === name)
    if (same) return assertOwned('network', name, same.Labels, plan.objects.network.labels)
    try {
      await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: plan.objects.network.labels, CheckDuplicate: true })
      if (journal) journal.network = name
    } catch (error) {
      if (statusCode(error) !== 409) throw error
    }
  }

  async function ensureVolumes(plan: StackPlan, journal?: Journal): Promise<void> {
    for (const volume of plan.objects.volumes) {
      let labels: Record<string, string> | undefined
      try {
        labels = (await docker.getVolume(volume.name).inspect()).Labels ?? {}
      } catch (error) {
        if (statusCode(error) !== 404) throw error
        await docker.createVolume({ Name: volume.name, Labels: volume.labels })
        journal?.volumes.push(volume.name)
        continue
      }
      assertOwned('volume', volume.name, labels, volume.labels)
    }
  }

  return {
    async ensureObjects(plan, journal) {
      await ensureNetwork(plan, journal)
      await ensureExtraNetworks(docker, plan, journal)
      await ensureVolumes(plan, journal)
    },

    async removeObjects(filters) {
      const networks = await docker.listNetworks({ filters })
      for (const n of networks) {
        try {
          await docker.getNetwork(n.Id).remove()
        } catch (error) {
          if (statusCode(error) !== 404) {
            // A proxy (Traefik, Caddy) may still be attached; detach whatever is and retry once.
            const attached = Object.keys((await docker.getNetwork(n.Id).inspect().catch(() => undefined))?.Containers ?? {})
            for (const id of attached) await docker.getNetwork(n.Id).disconnect({ Container: id, Force: true }).catch(() => {})
            await docker.getNetwork(n.Id).remove().catch((e2) => {
              if (statusCode(e2) !== 404) throw e2
            })
          }
        }
      }
      const { Volumes } = await docker.listVolumes({ filters })
      for (const v of Volumes ?? []) {
        await docker.getVolume(v.Name).remove().catch((error) => {
          if (statusCode(error) !== 404) throw error
        })
      }
      return networks.length + (Volumes?.length ?? 0)
    },

    async converge(plan, service, found, pulled, ctx) {
      const { watch, journal, emit } = ctx
      const base = { name: service.name, image: service.image, ports: service.ports.map(formatPort), configHash: service.configHash }
      const say = (status: ServiceStatus, message?: string) =>
        emit({ type: 'service', stack: plan.name, service: service.name, status, ...(message ? { message } : {}) })
      const fail = (why: string, containerId?: string): ServiceState => {
        say('error', why)
        return { ...base, status: 'error', error: why, ...(containerId ? { containerId } : {}) }
      }
      try {
        await pulled
      } catch (error) {
        return fail(`pulling ${service.image} failed: ${reason(error)}`)
      }
      let id: string
      let aside: SetAside | undefined
      if (found && found.info.Labels[LABELS.configHash] === service.configHash) {
        id = found.info.Id
        if (found.info.State === 'running') {
          say('running')
          return { ...base, status: 'running', containerId: id }
        }
        journal.started.push(id)
      } else {
        if (found) {
          // Kept under a side name until the whole deploy stands, so a failure can bring it back.
          say('stopping', 'replacing the changed container')
          const name = found.spec?.containerName ?? service.containerName
          aside = { service: service.name, id: found.info.Id, name, wasRunning: found.info.State === 'running' }
          await docker.getContainer(found.info.Id).rename({ name: asideName(name) })
          journal.setAside.push(aside)
        }
        say('creating')
        try {
          id = await createServiceContainer(docker, service, plan.objects.network.name, ctx.extraLabels, filesDir)
          journal.created.push(id)
        } catch (error) {
          return fail(`creating the container failed: ${reason(error)}`)
        }
      }
      // Creating took a moment: a dependency that died at start meanwhile blocks this one before it runs.
      const dead = ctx.deadDependency()
      if (dead !== undefined) {
        // Left as it was: the new container goes and the old one (never stopped) gets its name back.
        if (journal.created.includes(id)) {
          await containers.removeQuietly(id)
          journal.created.splice(journal.created.indexOf(id), 1)
        }
        if (aside) {
          await docker.getContainer(aside.id).rename({ name: aside.name })
          journal.setAside.splice(journal.setAside.indexOf(aside), 1)
        }
        const why = `blocked: dependency ${dead} is error`
        say('blocked', why)
        return { ...base, status: 'blocked', error: why }
      }
      // Blue/green: a routed service without a host port starts beside its old container, which keeps
      // serving until the proxy moves to the new one (after all services, see deploy); else the old stops first.
      const blueGreen = isBlueGreen(service) && Object.keys(ctx.extraLabels).length > 0
      if (aside?.wasRunning && !blueGreen) await containers.stopQuietly(aside.id)
      say('starting')
      try {
        await docker.getContainer(id).start()
      } catch (error) {
        if (statusCode(error) !== 304) return fail(`starting failed: ${reason(error)}`, id)
      }
      // A dependency others wait to complete (a migration, a setup job) must exit with status 0.
      if (plan.services.some((s) => s.dependsOnConditions?.[service.name] === 'service_completed_successfully')) {
        const done = await containers.waitCompleted(id)
        if (!done.ok) return fail(done.why ?? 'did not complete', id)
        say('stopped', 'completed successfully')
        return { ...base, status: 'stopped', containerId: id }
      }
      const check = await containers.confirmRunning(id, service, watch, { probeNetwork: plan.objects.network.name, requirePort: blueGreen })
      if (!check.ok) {
        // Keep the container for its logs, but stop its restart loop.
        await containers.stopQuietly(id).catch(() => {})
        return fail(check.why ?? 'did not start', id)
      }
      say('running')
      return { ...base, status: 'running', containerId: id }
    },
  }
}

/** Runs services level by level; a failure blocks everything that depends on it. */
export async function runLevels(
  plan: StackPlan,
  each: (service: PlannedService, results: ReadonlyMap<string, ServiceState>) => Promise<ServiceState>,
  emit: (e: ProgressEvent) => void,
): Promise<Map<string, ServiceState>> {
  const results = new Map<string, ServiceState>()
  for (const level of plan.levels) {
    await Promise.all(
      level.map(async (name) => {
        const service = plan.services.find((s) => s.name === name)!
        const satisfied = (d: string) =>
          results.get(d)?.status === (service.dependsOnConditions?.[d] === 'service_completed_successfully' ? 'stopped' : 'running')
        const failedDep = service.dependsOn.find((d) => !satisfied(d))
        if (failedDep !== undefined) {
          const why = `blocked: dependency ${failedDep} is ${results.get(failedDep)?.status ?? 'missing'}`
          emit({ type: 'service', stack: plan.name, service: name, status: 'blocked', message: why })
          results.set(name, { name, image: service.image, status: 'blocked', ports: service.ports.map(formatPort), error: why })
          return
        }
        results.set(name, await each(service, results))
      }),
    )
  }
  return results
}

/** Every service that depends on `name`, directly or through others. */
export function dependentsOf(plan: StackPlan, name: string): string[] {
  const out = new Set<string>()
  const queue = [name]
  while (queue.length > 0) {
    const next = queue.shift()!
    for (const s of plan.services) {
      if (s.dependsOn.includes(next) && !out.has(s.name)) {
        out.add(s.name)
        queue.push(s.name)
      }
    }
  }
  return [...out]
}
