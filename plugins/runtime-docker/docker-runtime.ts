// The stack runtime on a Docker engine: deploys, converges, updates and removes stacks, with Docker's
// labels as the only record of what runs (so a restarted thresh sees exactly what is there).
import type Docker from 'dockerode'
import { ThreshError } from '../../core/index.ts'
import {
  ACCOUNT_NAME,
  DEFAULT_ACCOUNT,
  isBlueGreen,
  isRouted,
  LABELS,
  planStack,
  type DeployDiff,
  type PlannedService,
  type ProgressEvent,
  type ProxyKind,
  type RuntimeCallOptions,
  type ServiceState,
  type ServiceStatus,
  type StackPlan,
  type StackDefinition,
  type StackProxy,
  type StackRuntime,
  type StackState,
} from '../../lib/stack/index.ts'
import { withImage } from './container-spec.ts'
import { createServiceContainer } from './service-container.ts'
import { defaultFilesDir, removeStackFiles, writeStackFiles } from './stack-files.ts'
import { createContainers } from './containers.ts'
import { createConverger, dependentsOf, runLevels } from './converge.ts'
import { asideName, createRollout, newJournal, type Journal } from './rollout.ts'
import { standbyName } from '../../lib/docker/aside.ts'
import { watchStack, type StartWatch } from './start-watch.ts'
import { PLUGIN, reason, stackNotFound, unreachable } from './docker-errors.ts'
import { ensureImage, lazyDocker } from '../../lib/docker/index.ts'
import { createKeyedQueue } from '../../lib/keyed-queue.ts'
import { withExistingNames } from './existing-names.ts'
import { pullAll } from './pull.ts'
import { assertPortsFree } from './ports.ts'
import { containersOf, current, diff, type Existing, firstFailure, labelFilters, planFrom, serviceOf, stateFrom } from './stack-inspection.ts'

export interface DockerRuntimeOptions {
  /** A dockerode client or its connection options (default: DOCKER_HOST or the local socket). */
  docker?: Docker | Docker.DockerOptions
  /** Default account for calls that name none (default `local`). */
  account?: string
  /**
   * Reverse proxy for services that ask for Traefik (the `proxy` service of runtime-traefik); `false`
   * deploys them unrouted. Without one, a stack that asks for Traefik is refused before anything starts.
   */
  proxy?: StackProxy | false
  /** The proxies by kind, for stacks that name one (`proxy: caddy`); Traefik may come as `proxy` too. */
  proxies?: Partial<Record<ProxyKind, StackProxy>>
  /** The proxy for stacks with `proxy: true` (default traefik). */
  defaultProxy?: ProxyKind
  /** Upper bound for waiting on a healthcheck (default: what the healthcheck itself allows). */
  healthTimeoutMs?: number
  /** How long a started service's first TCP port may take to accept connections (default 10 s). */
  portTimeoutMs?: number
  /** Where stacks' secrets and configs are written to be mounted (default `$THRESH_HOME/stack-files`). */
  filesDir?: string
}

function emitter(options: RuntimeCallOptions | undefined) {
  return (event: ProgressEvent) => {
    try {
      options?.onProgress?.(event)
    } catch {
      // A broken progress listener must not break a deploy.
    }
  }
}

/**
 * A stack runtime that talks to one Docker engine.
 * @example
 * const runtime = createDockerRuntime()
 * const state = await runtime.deploy(stack, { onProgress: (e) => console.log(e) })
 */
export function createDockerRuntime(options: DockerRuntimeOptions = {}): StackRuntime & { docker: Docker } {
  const docker = lazyDocker(options.docker)
  const defaultAccount = options.account ?? DEFAULT_ACCOUNT
  const containers = createContainers(docker, {
    ...(options.healthTimeoutMs !== undefined ? { healthTimeoutMs: options.healthTimeoutMs } : {}),
    ...(options.portTimeoutMs !== undefined ? { portTimeoutMs: options.portTimeoutMs } : {}),
  })
  const filesDir = options.filesDir ?? defaultFilesDir()
  const { ensureObjects, removeObjects, converge } = createConverger(docker, containers, filesDir)
  const { stopQuietly, removeQuietly } = containers

  // The account is part of Docker object names; one with `.` or `_` could spell another account's names.
  function accountOf(opts: RuntimeCallOptions | undefined): string {
    const account = opts?.account ?? defaultAccount
    if (ACCOUNT_NAME.test(account)) return account
    throw new ThreshError({ code: 'bad_account', message: `Account "${account}" cannot own stacks on this node: use letters, digits and '-'`, plugin: PLUGIN, status: 400 })
  }

  const rollout = createRollout(docker, containers)

  /** Runs `fn` with the stack's Docker events watched; the stream closes when it is done. */
  async function withWatch<T>(account: string, stack: string, fn: (watch: StartWatch) => Promise<T>): Promise<T> {
    const watch = await watchStack(docker, account, stack).catch((error: unknown) => {
      throw unreachable(error)
    })
    try {
      return await fn(watch)
    } finally {
      watch.close()
    }
  }

  /** The dependency of `service` whose container died since it started; a one-shot one (service_completed_successfully) exits on purpose. */
  function deadDependency(service: PlannedService, done: ReadonlyMap<string, ServiceState>, watch: StartWatch): string | undefined {
    return service.dependsOn.find((d) => {
      if (service.dependsOnConditions?.[d] === 'service_completed_successfully') return false
      const id = done.get(d)?.containerId
      return id !== undefined && watch.died(id) !== undefined
    })
  }

  /**
   * Every container this operation started is asked once more whether it is still up (Docker's own word);
   * one that died after its dependents started fails, and they are stopped and blocked.
   */
  async function confirmStarted(plan: StackPlan, results: Map<string, ServiceState>, journal: Journal, emit: (e: ProgressEvent) => void): Promise<void> {
    const touched = new Set([...journal.created, ...journal.started])
    const checks = await Promise.all(
      [...results.values()]
        .filter((r) => r.status === 'running' && r.containerId && touched.has(r.containerId))
        .map(async (r) => ({ r, check: await containers.settle(r.containerId!, plan.services.find((s) => s.name === r.name)).catch((error) => ({ ok: false, why: reason(error) })) })),
    )
    for (const { r, check } of checks) {
      if (check.ok) continue
      const why = check.why ?? 'did not stay up'
      results.set(r.name, { ...r, status: 'error', error: why })
      emit({ type: 'service', stack: plan.name, service: r.name, status: 'error', message: why })
      await stopQuietly(r.containerId!).catch(() => {})
      for (const dependent of dependentsOf(plan, r.name)) {
        const d = results.get(dependent)
        if (!d || d.status !== 'running') continue
        if (d.containerId) await stopQuietly(d.containerId).catch(() => {})
        const blocked = `blocked: dependency ${r.name} is error`
        results.set(dependent, { ...d, status: 'blocked', error: blocked })
        emit({ type: 'service', stack: plan.name, service: dependent, status: 'blocked', message: blocked })
      }
    }
  }

  /**
   * Replaces a routed service that has no host port without a gap: the new container starts beside the
   * old one under a standby name, must be healthy (its healthcheck, else running with its port open),
   * takes the name and the route, and only then is the old one stopped and removed.
   */
  async function blueGreen(plan: StackPlan, old: Existing, next: PlannedService, px: StackProxy, emit: (e: ProgressEvent) => void): Promise<void> {
    const spec = old.spec!
    const say = (status: ServiceStatus, message?: string) => emit({ type: 'service', stack: plan.name, service: next.name, status, ...(message ? { message } : {}) })
    const network = plan.objects.network.name
    let newId: string | undefined
    let failure: string | undefined
    await withWatch(plan.account, plan.name, async (watch) => {
      try {
        say('creating', 'blue/green: the new container starts beside the old one')
        newId = await createServiceContainer(docker, { ...next, containerName: standbyName(next.containerName) }, network, px.labelsFor(plan, next), filesDir)
        say('starting')
        await docker.getContainer(newId).start()
        let check = await containers.confirmRunning(newId, next, watch, { probeNetwork: network, requirePort: true })
        if (check.ok) check = await containers.settle(newId, next)
        if (!check.ok) failure = check.why
      } catch (error) {
        failure = reason(error)
      }
    })
    const keep = async (why: string): Promise<never> => {
      say('error', `${next.image} failed to start (${why}); ${next.name} keeps running ${spec.image}`)
      if (newId) await removeQuietly(newId)
      throw new ThreshError({ code: 'update_rolled_back', message: `${next.name} on ${next.image} failed to start (${why}); rolled back to ${spec.image}`, plugin: PLUGIN, status: 409 })
    }
    if (failure !== undefined) return keep(failure)
    // The switch: names first, then the route (the proxy routes only containers with their own names).
    const oldContainer = docker.getContainer(old.info.Id)
    await oldContainer.rename({ name: asideName(spec.containerName) })
    await docker.getContainer(newId!).rename({ name: next.containerName })
    try {
      await px.ensure(plan, emit)
    } catch (error) {
      await docker.getContainer(newId!).rename({ name: standbyName(next.containerName) }).catch(() => {})
      await oldContainer.rename({ name: spec.containerName })
      await px.ensure(plan, emit).catch(() => {})
      return keep(`routing failed: ${reason(error)}`)
    }
    say('stopping', 'the old container, now that the new one has the route')
    await stopQuietly(old.info.Id)
    await removeQuietly(old.info.Id)
    say('running')
  }

  // One operation at a time per stack: a second `up` waits for the first instead of racing it.
  const exclusive = createKeyedQueue()

  /** Which proxy routes a service: the one its stack names (`default`: this node's), else Traefik. */
  function kindOf(service: { proxy?: ProxyKind | 'default' }): ProxyKind {
    if (service.proxy === 'default') return options.defaultProxy ?? 'traefik'
    return service.proxy ?? 'traefik'
  }

  /** The proxy for `routed` services of `stack`: none to route, or routing off, is undefined; no proxy is an error. */
  function proxyFor(stack: string, routed: Array<{ name: string; proxy?: ProxyKind | 'default' }>): StackProxy | undefined {
    if (routed.length === 0 || options.proxy === false) return undefined
    const kind = kindOf(routed[0]!)
    const px = kind === 'traefik' ? (options.proxies?.traefik ?? options.proxy) : options.proxies?.[kind]
    if (px) return px
    // No proxy of our own as a fallback: a disabled proxy plugin has to stay disabled.
    const name = kind === 'traefik' ? 'Traefik' : 'Caddy'
    throw new ThreshError({
      code: 'proxy_missing',
      message: `Stack ${stack} routes ${routed.map((s) => s.name).join(', ')} through ${name}, but no proxy plugin is running: runtime-${kind} is disabled or not loaded. Enable it, or ${kind === 'traefik' ? 'set traefik: false' : 'choose another proxy'}.`,
      plugin: PLUGIN,
      status: 409,
    })
  }

  /** Each routed service's proxy labels, worked out before anything starts (a rule the proxy cannot express is refused). */
  function proxyLabels(plan: StackPlan, px: StackProxy | undefined, routed: PlannedService[]): Map<string, Record<string, string>> {
    const labels = new Map<string, Record<string, string>>()
    if (!px) return labels
    for (const s of routed) {
      try {
        labels.set(s.name, px.labelsFor(plan, s))
      } catch (error) {
        throw new ThreshError({ code: 'route_invalid', message: `Stack ${plan.name} cannot be routed: ${reason(error)}`, plugin: PLUGIN, status: 400 })
      }
    }
    return labels
  }

  const runtime: StackRuntime & { docker: Docker } = {
    name: 'docker',
    docker,

    async plan(stack: StackDefinition, opts?: RuntimeCallOptions): Promise<DeployDiff> {
      const account = accountOf(opts)
      return diff(planStack(stack, { account }), current(await containersOf(docker, account, stack.name)))
    },

    async deploy(stack: StackDefinition, opts?: RuntimeCallOptions): Promise<StackState> {
      const account = accountOf(opts)
      return exclusive(`${account}/${stack.name}`, async () => {
        const emit = emitter(opts)
        const existing = current(await containersOf(docker, account, stack.name))
        const plan = await withExistingNames(docker, planStack(stack, { account })).catch((error: unknown) => {
          throw unreachable(error)
        })
        const changes = diff(plan, existing)
        const routed = plan.services.filter(isRouted)
        const px = proxyFor(plan.name, routed)
        const routeLabels = proxyLabels(plan, px, routed)
        const rollback = opts?.rollback ?? existing.length > 0

        // Ports are checked before anything is created: a half-deployed stack is worse than none.
        const wanted = plan.services.filter((s) => !changes.unchanged.includes(s.name)).flatMap((s) => s.ports)
        await assertPortsFree(docker, wanted, new Set(existing.map((e) => e.info.Id)))

        emit({ type: 'stack', stack: plan.name, status: 'deploying' })
        const journal = newJournal()
        const results = await withWatch(account, plan.name, async (watch) => {
          try {
            await ensureObjects(plan, journal)
            // Named by digest: the files of containers that keep running stay where they are.
            await writeStackFiles(filesDir, plan, stack)
            // Services the definition dropped stop now and go only once the deploy stands.
            for (const name of changes.remove) {
              const gone = existing.find((e) => serviceOf(e) === name)
              if (!gone) continue
              const old = { service: name, id: gone.info.Id, name: gone.spec?.containerName ?? gone.info.Names[0]!.slice(1), wasRunning: gone.info.State === 'running' }
              await stopQuietly(old.id)
              await docker.getContainer(old.id).rename({ name: asideName(old.name) })
              journal.setAside.push(old)
            }
          } catch (error) {
            await rollout.rollback(journal).catch(() => {})
            throw unreachable(error)
          }

          const pulls = pullAll(docker, plan, emit)
          for (const s of plan.services) emit({ type: 'service', stack: plan.name, service: s.name, status: 'pending' })
          const results = await runLevels(
            plan,
            (service, done) =>
              converge(plan, service, existing.find((e) => serviceOf(e) === service.name), pulls.get(service.image)!, {
                watch,
                journal,
                emit,
                extraLabels: routeLabels.get(service.name) ?? {},
                deadDependency: () => deadDependency(service, done, watch),
              }),
            emit,
          )
          await confirmStarted(plan, results, journal, emit)
          return results
        })
        if (px && routed.some((s) => results.get(s.name)?.status === 'running')) {
          try {
            await px.ensure(plan, emit)
          } catch (error) {
            for (const s of routed) {
              const r = results.get(s.name)
              if (r?.status === 'running') results.set(s.name, { ...r, status: 'error', error: `routing failed: ${reason(error)}` })
            }
          }
        }
        const failed = firstFailure(results)
        let state: StackState
        if (failed && rollback) {
          const why = `${failed.name}: ${failed.error}`
          emit({ type: 'stack', stack: plan.name, status: 'deploying', message: `rolling back: ${why}` })
          await rollout.rollback(journal)
          const after = current(await containersOf(docker, account, stack.name))
          state = after.length > 0 ? stateFrom(plan.name, account, after) : { name: plan.name, account, status: 'error', services: [], traefik: plan.traefik, error: why }
          state.rolledBack = why
          // The proxy follows: the restored containers take their routes back, or it lets the stack go.
          if (after.length === 0) await removeStackFiles(filesDir, account, plan.name).catch(() => {})
          if (px && after.length === 0) await px.release(plan.name).catch(() => {})
          else if (px) await px.ensure(plan, emit).catch(() => {})
        } else {
          await rollout.commit(journal)
          state = stateFrom(plan.name, account, current(await containersOf(docker, account, stack.name)), results)
          if (failed) state.error = `${failed.name}: ${failed.error}`
          else delete state.error
        }
        const message = state.rolledBack ? `rolled back: ${state.rolledBack}` : state.error
        emit({ type: 'stack', stack: plan.name, status: state.status, ...(message ? { message } : {}) })
        return state
      })
    },

    async status(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = accountOf(opts)
      const existing = current(await containersOf(docker, account, name))
      return existing.length === 0 ? undefined : stateFrom(name, account, existing)
    },

    async list(opts?: RuntimeCallOptions): Promise<StackState[]> {
      const account = accountOf(opts)
      const existing = current(await containersOf(docker, account))
      const names = [...new Set(existing.map((e) => e.info.Labels[LABELS.stack]!))].sort()
      return names.map((n) => stateFrom(n, account, existing.filter((e) => e.info.Labels[LABELS.stack] === n)))
    },

    async updateService(name: string, serviceName: string, image: string, opts?: RuntimeCallOptions): Promise<StackState> {
      const account = accountOf(opts)
      const normalized = image.startsWith('docker:') ? image.slice('docker:'.length) : image
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = current(await containersOf(docker, account, name))
        if (existing.length === 0) throw stackNotFound(name)
        const old = existing.find((e) => serviceOf(e) === serviceName)
        if (!old?.spec) {
          throw new ThreshError({
            code: 'service_not_found',
            message: `Stack ${name} has no service named ${serviceName}`,
            plugin: PLUGIN,
            status: 404,
          })
        }
        const next = withImage(old.spec, old.info.Labels, normalized)
        const plan = planFrom(account, name, existing)!
        const px = proxyFor(name, isRouted(next) ? [next] : [])
        const say = (status: ServiceStatus, message?: string) =>
          emit({ type: 'service', stack: name, service: serviceName, status, ...(message ? { message } : {}) })

        // Pull before touching the running container: a bad image must not cost any uptime.
        try {
          await ensureImage(docker, normalized, (p) => emit({ type: 'pull', stack: name, service: serviceName, image: normalized, ...p }))
        } catch (error) {
          say('error', `pulling ${normalized} failed: ${reason(error)}`)
          throw new ThreshError({
            code: 'image_pull_failed',
            message: `Pulling ${normalized} failed: ${reason(error)}; ${serviceName} keeps running ${old.spec.image}`,
            plugin: PLUGIN,
            status: 502,
            cause: error,
          })
        }

        if (px && isBlueGreen(next) && old.info.State === 'running') {
          await blueGreen(plan, old, next, px, emit)
          return stateFrom(name, account, current(await containersOf(docker, account, name)))
        }

        const oldContainer = docker.getContainer(old.info.Id)
        const wasRunning = old.info.State === 'running'
        say('stopping')
        await stopQuietly(old.info.Id)
        await oldContainer.rename({ name: asideName(old.spec.containerName) })
        let newId: string | undefined
        let failure: string | undefined
        await withWatch(account, name, async (watch) => {
          try {
            say('creating')
            newId = await createServiceContainer(docker, next, plan.objects.network.name, px ? px.labelsFor(plan, next) : {}, filesDir)
            say('starting')
            await docker.getContainer(newId).start()
            let check = await containers.confirmRunning(newId, next, watch, { probeNetwork: plan.objects.network.name })
            if (check.ok) check = await containers.settle(newId, next)
            if (!check.ok) failure = check.why
          } catch (error) {
            failure = reason(error)
          }
        })
        if (failure !== undefined) {
          say('error', `${normalized} failed to start (${failure}); rolling back to ${old.spec.image}`)
          if (newId) await removeQuietly(newId)
          await oldContainer.rename({ name: old.spec.containerName })
          if (wasRunning) await oldContainer.start().catch(() => {})
          if (px) await px.ensure(plan, emit).catch(() => {})
          throw new ThreshError({
            code: 'update_rolled_back',
            message: `${serviceName} on ${normalized} failed to start (${failure}); rolled back to ${old.spec.image}`,
            plugin: PLUGIN,
            status: 409,
          })
        }
        await removeQuietly(old.info.Id)
        // A proxy that is not told by Docker's labels (Caddy) routes to the new container from here on.
        if (px) await px.ensure(plan, emit)
        say('running')
        return stateFrom(name, account, current(await containersOf(docker, account, name)))
      })
    },

    async stop(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = accountOf(opts)
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(docker, account, name)
        if (existing.length === 0) return undefined
        const plan = planFrom(account, name, existing)
        // Dependents stop first, the reverse of the start order.
        const levels = plan ? [...plan.levels].reverse() : [existing.map((e) => serviceOf(e)!)]
        for (const level of levels) {
          await Promise.all(
            level.map(async (svc) => {
              const e = existing.find((x) => serviceOf(x) === svc)
              if (!e) return
              await stopQuietly(e.info.Id)
              emit({ type: 'service', stack: name, service: svc, status: 'stopped' })
            }),
          )
        }
        return stateFrom(name, account, current(await containersOf(docker, account, name)))
      })
    },

    async start(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = accountOf(opts)
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = current(await containersOf(docker, account, name))
        const plan = planFrom(account, name, existing)
        if (!plan) return undefined
        const journal = newJournal()
        const results = await withWatch(account, name, async (watch) => {
          const results = await runLevels(
            plan,
            (service, done) =>
              converge(plan, service, existing.find((e) => serviceOf(e) === service.name), Promise.resolve(), {
                watch,
                journal,
                emit,
                extraLabels: {},
                deadDependency: () => deadDependency(service, done, watch),
              }),
            emit,
          )
          await confirmStarted(plan, results, journal, emit)
          return results
        })
        // Restarted containers may have new addresses: the proxy learns them.
        const routed = plan.services.filter(isRouted)
        if (routed.some((s) => results.get(s.name)?.status === 'running')) {
          await Promise.resolve()
            .then(() => proxyFor(name, routed)?.ensure(plan, emit))
            .catch(() => {})
        }
        return stateFrom(name, account, current(await containersOf(docker, account, name)), results)
      })
    },

    async destroy(name: string, opts?: RuntimeCallOptions): Promise<boolean> {
      const account = accountOf(opts)
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(docker, account, name)
        await Promise.all(
          existing.map(async (e) => {
            await removeQuietly(e.info.Id)
            const svc = serviceOf(e)
            if (svc) emit({ type: 'service', stack: name, service: svc, status: 'stopped', message: 'removed' })
          }),
        )
        const removed = await removeObjects(labelFilters(account, name))
        await removeStackFiles(filesDir, account, name)
        // Without a proxy plugin a Traefik left from earlier is not ours to remove; the stack goes all the same.
        const routedSpec = existing.map((e) => e.spec).find((spec) => spec !== undefined && isRouted(spec))
        const px = routedSpec && options.proxy !== false ? (kindOf(routedSpec) === 'traefik' ? (options.proxies?.traefik ?? options.proxy) : options.proxies?.[kindOf(routedSpec)]) : undefined
        if (px) await px.release(name)
        return existing.length + removed > 0
      })
    },
  }
  return runtime
}
