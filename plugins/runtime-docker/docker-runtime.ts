// The stack runtime on a Docker engine: deploys, converges, updates and removes stacks, with Docker's
// labels as the only record of what runs (so a restarted thresh sees exactly what is there).
import type Docker from 'dockerode'
import { ThreshError } from '../../core/index.ts'
import {
  ACCOUNT_NAME,
  DEFAULT_ACCOUNT,
  LABELS,
  planStack,
  type DeployDiff,
  type ProgressEvent,
  type RuntimeCallOptions,
  type ServiceStatus,
  type StackDefinition,
  type StackProxy,
  type StackRuntime,
  type StackState,
} from '../../lib/stack/index.ts'
import { withImage } from './container-spec.ts'
import { createServiceContainer } from './service-container.ts'
import { defaultFilesDir, removeStackFiles, writeStackFiles } from './stack-files.ts'
import { createContainers } from './containers.ts'
import { createConverger, runLevels } from './converge.ts'
import { PLUGIN, reason, stackNotFound, unreachable } from './docker-errors.ts'
import { ensureImage, lazyDocker } from '../../lib/docker/index.ts'
import { createKeyedQueue } from '../../lib/keyed-queue.ts'
import { withExistingNames } from './existing-names.ts'
import { pullAll } from './pull.ts'
import { assertPortsFree } from './ports.ts'
import { containersOf, diff, labelFilters, planFrom, serviceOf, stateFrom } from './stack-inspection.ts'

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
  /**
   * How long a service without a healthcheck must stay up before its dependents start, so a process
   * that dies at once blocks them instead of racing them (default 150 ms; services nobody waits on skip it).
   */
  startGraceMs?: number
  /** Upper bound for waiting on a healthcheck (default: what the healthcheck itself allows). */
  healthTimeoutMs?: number
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
  const containers = createContainers(docker, { startGraceMs: options.startGraceMs ?? 150, ...(options.healthTimeoutMs !== undefined ? { healthTimeoutMs: options.healthTimeoutMs } : {}) })
  const filesDir = options.filesDir ?? defaultFilesDir()
  const { ensureObjects, removeObjects, converge } = createConverger(docker, containers, filesDir)
  const { stopQuietly, removeQuietly } = containers

  // The account is part of Docker object names; one with `.` or `_` could spell another account's names.
  function accountOf(opts: RuntimeCallOptions | undefined): string {
    const account = opts?.account ?? defaultAccount
    if (ACCOUNT_NAME.test(account)) return account
    throw new ThreshError({ code: 'bad_account', message: `Account "${account}" cannot own stacks on this node: use letters, digits and '-'`, plugin: PLUGIN, status: 400 })
  }

  // One operation at a time per stack: a second `up` waits for the first instead of racing it.
  const exclusive = createKeyedQueue()

  /** The proxy for `routed` services of `stack`: none to route, or routing off, is undefined; no proxy is an error. */
  function proxyFor(stack: string, routed: string[]): StackProxy | undefined {
    if (routed.length === 0 || options.proxy === false) return undefined
    if (options.proxy) return options.proxy
    // No Traefik of our own as a fallback: a disabled runtime-traefik has to stay disabled.
    throw new ThreshError({
      code: 'proxy_missing',
      message: `Stack ${stack} routes ${routed.join(', ')} through Traefik, but no proxy plugin is running: runtime-traefik is disabled or not loaded. Enable it, or set traefik: false.`,
      plugin: PLUGIN,
      status: 409,
    })
  }

  const runtime: StackRuntime & { docker: Docker } = {
    name: 'docker',
    docker,

    async plan(stack: StackDefinition, opts?: RuntimeCallOptions): Promise<DeployDiff> {
      const account = accountOf(opts)
      return diff(planStack(stack, { account }), await containersOf(docker, account, stack.name))
    },

    async deploy(stack: StackDefinition, opts?: RuntimeCallOptions): Promise<StackState> {
      const account = accountOf(opts)
      return exclusive(`${account}/${stack.name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(docker, account, stack.name)
        const plan = await withExistingNames(docker, planStack(stack, { account })).catch((error: unknown) => {
          throw unreachable(error)
        })
        const changes = diff(plan, existing)
        const routed = plan.services.filter((s) => s.traefik && s.ports.length > 0)
        const px = proxyFor(plan.name, routed.map((s) => s.name))

        // Ports are checked before anything is created: a half-deployed stack is worse than none.
        const wanted = plan.services.filter((s) => !changes.unchanged.includes(s.name)).flatMap((s) => s.ports)
        await assertPortsFree(docker, wanted, new Set(existing.map((e) => e.info.Id)))

        emit({ type: 'stack', stack: plan.name, status: 'deploying' })
        try {
          await ensureObjects(plan)
          await writeStackFiles(filesDir, plan, stack)
          for (const name of changes.remove) {
            const gone = existing.find((e) => serviceOf(e) === name)
            if (gone) await removeQuietly(gone.info.Id)
          }
        } catch (error) {
          throw unreachable(error)
        }

        const pulls = pullAll(docker, plan, emit)
        for (const s of plan.services) emit({ type: 'service', stack: plan.name, service: s.name, status: 'pending' })

        const results = await runLevels(
          plan,
          (service) =>
            converge(
              plan,
              service,
              existing.find((e) => serviceOf(e) === service.name),
              pulls.get(service.image)!,
              emit,
              px && service.traefik && service.ports.length > 0 ? px.labelsFor(plan, service) : {},
            ),
          emit,
        )
        if (px) {
          try {
            await px.ensure(plan, emit)
          } catch (error) {
            for (const s of routed) {
              const r = results.get(s.name)
              if (r?.status === 'running') results.set(s.name, { ...r, status: 'error', error: `routing failed: ${reason(error)}` })
            }
          }
        }
        const state = stateFrom(plan.name, account, await containersOf(docker, account, stack.name), results)
        const firstError = state.services.find((s) => s.status === 'error') ?? state.services.find((s) => s.status === 'blocked')
        if (firstError) state.error = `${firstError.name}: ${firstError.error}`
        else delete state.error
        emit({ type: 'stack', stack: plan.name, status: state.status, ...(state.error ? { message: state.error } : {}) })
        return state
      })
    },

    async status(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = accountOf(opts)
      const existing = await containersOf(docker, account, name)
      return existing.length === 0 ? undefined : stateFrom(name, account, existing)
    },

    async list(opts?: RuntimeCallOptions): Promise<StackState[]> {
      const account = accountOf(opts)
      const existing = await containersOf(docker, account)
      const names = [...new Set(existing.map((e) => e.info.Labels[LABELS.stack]!))].sort()
      return names.map((n) => stateFrom(n, account, existing.filter((e) => e.info.Labels[LABELS.stack] === n)))
    },

    async updateService(name: string, serviceName: string, image: string, opts?: RuntimeCallOptions): Promise<StackState> {
      const account = accountOf(opts)
      const normalized = image.startsWith('docker:') ? image.slice('docker:'.length) : image
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(docker, account, name)
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
        const px = proxyFor(name, next.traefik && next.ports.length > 0 ? [serviceName] : [])
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

        const oldContainer = docker.getContainer(old.info.Id)
        const wasRunning = old.info.State === 'running'
        const backupName = `${old.spec.containerName}-rollback`
        say('stopping')
        await stopQuietly(old.info.Id)
        await oldContainer.rename({ name: backupName })
        let newId: string | undefined
        let failure: string | undefined
        try {
          say('creating')
          newId = await createServiceContainer(docker, next, plan.objects.network.name, px ? px.labelsFor(plan, next) : {}, filesDir)
          say('starting')
          await docker.getContainer(newId).start()
          const check = await containers.confirmRunning(newId, { ...next, dependents: next.dependents.length > 0 ? next.dependents : ['update'] })
          if (!check.ok) failure = check.why
        } catch (error) {
          failure = reason(error)
        }
        if (failure !== undefined) {
          say('error', `${normalized} failed to start (${failure}); rolling back to ${old.spec.image}`)
          if (newId) await removeQuietly(newId)
          await oldContainer.rename({ name: old.spec.containerName })
          if (wasRunning) await oldContainer.start().catch(() => {})
          throw new ThreshError({
            code: 'update_rolled_back',
            message: `${serviceName} on ${normalized} failed to start (${failure}); rolled back to ${old.spec.image}`,
            plugin: PLUGIN,
            status: 409,
          })
        }
        await removeQuietly(old.info.Id)
        say('running')
        return stateFrom(name, account, await containersOf(docker, account, name))
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
        return stateFrom(name, account, await containersOf(docker, account, name))
      })
    },

    async start(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = accountOf(opts)
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(docker, account, name)
        const plan = planFrom(account, name, existing)
        if (!plan) return undefined
        const results = await runLevels(
          plan,
          (service) =>
            converge(plan, service, existing.find((e) => serviceOf(e) === service.name), Promise.resolve(), emit, {}),
          emit,
        )
        return stateFrom(name, account, await containersOf(docker, account, name), results)
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
        if (existing.some((e) => e.spec?.traefik) && options.proxy) await options.proxy.release(name)
        return existing.length + removed > 0
      })
    },
  }
  return runtime
}
