// The stack runtime on a Docker engine: deploys, converges, updates and removes stacks, with Docker's
// labels as the only record of what runs (so a restarted thresh sees exactly what is there).
import type Docker from 'dockerode'
import { ThreshError } from '../../core/index.ts'
import {
  DEFAULT_ACCOUNT,
  formatPort,
  LABELS,
  planStack,
  type DeployDiff,
  type PlannedService,
  type ProgressEvent,
  type RuntimeCallOptions,
  type ServiceState,
  type ServiceStatus,
  type StackDefinition,
  type StackPlan,
  type StackRuntime,
  type StackState,
  type StackStatus,
} from '../../lib/stack/index.ts'
import { createOptions, readSpec, RESTART_POLICY, withImage, type ServiceSpec } from './container-spec.ts'
import type { StackProxy } from './proxy.ts'
import { lazyDocker } from './lazy-docker.ts'
import { ensureImage } from './pull.ts'
import { portsInUse } from './ports.ts'

const PLUGIN = 'runtime-docker'

export interface DockerRuntimeOptions {
  /** A dockerode client or its connection options (default: DOCKER_HOST or the local socket). */
  docker?: Docker | Docker.DockerOptions
  /** Default account for calls that name none (default `local`). */
  account?: string
  /** Reverse proxy for services that ask for Traefik; `false` for none. */
  proxy?: StackProxy | false
  /**
   * How long a service without a healthcheck must stay up before its dependents start, so a process
   * that dies at once blocks them instead of racing them (default 150 ms; services nobody waits on skip it).
   */
  startGraceMs?: number
  /** Upper bound for waiting on a healthcheck (default: what the healthcheck itself allows). */
  healthTimeoutMs?: number
}

type ContainerInfo = Docker.ContainerInfo

interface Existing {
  info: ContainerInfo
  spec: ServiceSpec | undefined
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode
}

function reason(error: unknown): string {
  const e = error as { json?: { message?: string }; reason?: string; message?: string }
  const text = e?.json?.message ?? e?.message ?? String(error)
  return text.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim()
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
  const graceMs = options.startGraceMs ?? 150
  let proxy: StackProxy | undefined = options.proxy === false ? undefined : options.proxy
  const locks = new Map<string, Promise<unknown>>()

  // One operation at a time per stack: a second `up` waits for the first instead of racing it.
  function exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(key) ?? Promise.resolve()
    const run = previous.catch(() => {}).then(fn)
    locks.set(key, run)
    return run.finally(() => {
      if (locks.get(key) === run) locks.delete(key)
    })
  }

  function filters(account: string, stack?: string): string {
    const label = [`${LABELS.managed}=true`, `${LABELS.account}=${account}`]
    if (stack) label.push(`${LABELS.stack}=${stack}`)
    return JSON.stringify({ label })
  }

  async function containersOf(account: string, stack?: string): Promise<Existing[]> {
    try {
      const infos = await docker.listContainers({ all: true, filters: filters(account, stack) })
      return infos.map((info) => ({ info, spec: readSpec(info.Labels) }))
    } catch (error) {
      throw unreachable(error)
    }
  }

  function unreachable(error: unknown): ThreshError {
    if (error instanceof ThreshError) return error
    return new ThreshError({
      code: 'docker_unavailable',
      message: `Cannot reach the Docker engine: ${reason(error)}`,
      plugin: PLUGIN,
      status: 503,
      cause: error,
    })
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

  async function inspectRunning(id: string): Promise<{ ok: boolean; why?: string }> {
    const c = await docker.getContainer(id).inspect()
    // A restart count above zero means it already died once, even if the restart policy revived it.
    if (c.State.Running && !c.State.Restarting && c.RestartCount === 0) {
      if (c.HostConfig.RestartPolicy?.Name !== RESTART_POLICY.Name) await docker.getContainer(id).update({ RestartPolicy: RESTART_POLICY })
      return { ok: true }
    }
    return { ok: false, why: `exited with status ${c.State.ExitCode}${await logTail(id)}` }
  }

  async function logTail(id: string): Promise<string> {
    try {
      const buffer = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: 3 })) as unknown as Uint8Array
      // Multiplexed log frames carry an 8-byte header each; keep the printable text.
      const text = new TextDecoder()
        .decode(buffer)
        .replace(/[\u0000-\u0008\u000e-\u001f]/g, '')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join(' / ')
      return text ? `: ${text}` : ''
    } catch {
      return ''
    }
  }

  async function waitHealthy(id: string, service: PlannedService | ServiceSpec): Promise<{ ok: boolean; why?: string }> {
    const hc = service.healthcheck!
    const limit = options.healthTimeoutMs ?? hc.startPeriodMs + (hc.intervalMs + hc.timeoutMs) * (hc.retries + 1) + 1000
    const deadline = Date.now() + limit
    for (;;) {
      const c = await docker.getContainer(id).inspect()
      if (!c.State.Running) return { ok: false, why: `exited with status ${c.State.ExitCode}${await logTail(id)}` }
      const health = c.State.Health?.Status
      if (health === 'healthy') {
        if (c.HostConfig.RestartPolicy?.Name !== RESTART_POLICY.Name) await docker.getContainer(id).update({ RestartPolicy: RESTART_POLICY })
        return { ok: true }
      }
      if (health === 'unhealthy') return { ok: false, why: 'its healthcheck failed' }
      if (Date.now() > deadline) return { ok: false, why: `not healthy after ${Math.round(limit / 1000)} s` }
      await sleep(Math.min(200, hc.intervalMs))
    }
  }

  /** Started and stays up: healthy when it has a healthcheck, alive after the grace period when waited on. */
  async function confirmRunning(id: string, service: PlannedService | ServiceSpec): Promise<{ ok: boolean; why?: string }> {
    if (service.healthcheck) return waitHealthy(id, service)
    if (service.dependents.length > 0 && graceMs > 0) await sleep(graceMs)
    return inspectRunning(id)
  }

  async function stopQuietly(id: string): Promise<void> {
    try {
      await docker.getContainer(id).stop({ t: 10 })
    } catch (error) {
      if (statusCode(error) !== 304 && statusCode(error) !== 404) throw error
    }
  }

  async function removeQuietly(id: string): Promise<void> {
    try {
      await docker.getContainer(id).remove({ force: true, v: false })
    } catch (error) {
      if (statusCode(error) !== 404) throw error
    }
  }

  async function ensureNetwork(plan: StackPlan): Promise<void> {
    const name = plan.objects.network.name
    const found = await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) })
    if (found.some((n) => n.Name === name)) return
    try {
      await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: plan.objects.network.labels, CheckDuplicate: true })
    } catch (error) {
      if (statusCode(error) !== 409) throw error
    }
  }

  async function ensureVolumes(plan: StackPlan): Promise<void> {
    for (const volume of plan.objects.volumes) {
      try {
        await docker.getVolume(volume.name).inspect()
      } catch (error) {
        if (statusCode(error) !== 404) throw error
        await docker.createVolume({ Name: volume.name, Labels: volume.labels })
      }
    }
  }

  function stateFrom(name: string, account: string, existing: Existing[], override?: Map<string, ServiceState>): StackState {
    const services: ServiceState[] = existing
      .filter((e) => e.info.Labels[LABELS.service])
      .map((e) => {
        const svc = e.info.Labels[LABELS.service]!
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
    const order = (s: ServiceState) => existing.find((e) => e.info.Labels[LABELS.service] === s.name)?.spec?.level ?? 99
    services.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name))
    const created = existing.map((e) => e.info.Created).sort()[0]
    return {
      name,
      account,
      status: stackStatus(services),
      services,
      traefik: existing.some((e) => e.spec?.traefik),
      ...(services.find((s) => s.error) ? { error: `${services.find((s) => s.status === 'error')?.name ?? ''}: ${services.find((s) => s.status === 'error')?.error ?? ''}` } : {}),
      ...(created !== undefined ? { createdAt: new Date(created * 1000).toISOString() } : {}),
    }
  }

  function stackStatus(services: ServiceState[]): StackStatus {
    if (services.some((s) => s.status === 'error' || s.status === 'blocked')) return 'error'
    if (services.length > 0 && services.every((s) => s.status === 'running')) return 'running'
    if (services.every((s) => s.status === 'stopped')) return 'stopped'
    return 'partial'
  }

  function diff(plan: StackPlan, existing: Existing[]): DeployDiff {
    const result: DeployDiff = { stack: plan.name, create: [], recreate: [], unchanged: [], remove: [] }
    for (const service of plan.services) {
      const found = existing.find((e) => e.info.Labels[LABELS.service] === service.name)
      if (!found) result.create.push(service.name)
      else if (found.info.Labels[LABELS.configHash] !== service.configHash) result.recreate.push(service.name)
      else result.unchanged.push(service.name)
    }
    for (const e of existing) {
      const svc = e.info.Labels[LABELS.service]
      if (svc && !plan.services.some((s) => s.name === svc)) result.remove.push(svc)
    }
    return result
  }

  async function getProxy(): Promise<StackProxy | undefined> {
    if (options.proxy === false) return undefined
    if (!proxy) {
      const { createTraefikProxy } = await import('../runtime-traefik/traefik-proxy.ts')
      proxy = createTraefikProxy({ docker })
    }
    return proxy
  }

  /** Brings one service to running; returns its final state. */
  async function converge(
    plan: StackPlan,
    service: PlannedService,
    found: Existing | undefined,
    pulled: Promise<void>,
    emit: (e: ProgressEvent) => void,
    extraLabels: Record<string, string>,
  ): Promise<ServiceState> {
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
    if (found && found.info.Labels[LABELS.configHash] === service.configHash) {
      id = found.info.Id
      if (found.info.State === 'running') {
        say('running')
        return { ...base, status: 'running', containerId: id }
      }
    } else {
      if (found) {
        say('stopping', 'replacing the changed container')
        await removeQuietly(found.info.Id)
      }
      say('creating')
      try {
        id = (await docker.createContainer(createOptions(service, plan.objects.network.name, extraLabels))).id
      } catch (error) {
        return fail(`creating the container failed: ${reason(error)}`)
      }
    }
    say('starting')
    try {
      await docker.getContainer(id).start()
    } catch (error) {
      if (statusCode(error) !== 304) return fail(`starting failed: ${reason(error)}`, id)
    }
    const check = await confirmRunning(id, service)
    if (!check.ok) {
      // Keep the container for its logs, but stop its restart loop.
      await stopQuietly(id).catch(() => {})
      return fail(check.why ?? 'did not start', id)
    }
    say('running')
    return { ...base, status: 'running', containerId: id }
  }

  /** Runs services level by level; a failure blocks everything that depends on it. */
  async function runLevels(
    plan: StackPlan,
    each: (service: PlannedService) => Promise<ServiceState>,
    emit: (e: ProgressEvent) => void,
  ): Promise<Map<string, ServiceState>> {
    const results = new Map<string, ServiceState>()
    for (const level of plan.levels) {
      await Promise.all(
        level.map(async (name) => {
          const service = plan.services.find((s) => s.name === name)!
          const failedDep = service.dependsOn.find((d) => results.get(d)?.status !== 'running')
          if (failedDep !== undefined) {
            const why = `blocked: dependency ${failedDep} is ${results.get(failedDep)?.status ?? 'missing'}`
            emit({ type: 'service', stack: plan.name, service: name, status: 'blocked', message: why })
            results.set(name, { name, image: service.image, status: 'blocked', ports: service.ports.map(formatPort), error: why })
            return
          }
          results.set(name, await each(service))
        }),
      )
    }
    return results
  }

  function planFrom(account: string, stack: string, existing: Existing[]): StackPlan | undefined {
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
      objects: { network: { name: network ?? `${stack}-net`, labels }, volumes: [], containers: [] },
    }
  }

  const runtime: StackRuntime & { docker: Docker } = {
    name: 'docker',
    docker,

    async plan(stack: StackDefinition, opts?: RuntimeCallOptions): Promise<DeployDiff> {
      const account = opts?.account ?? defaultAccount
      return diff(planStack(stack, { account }), await containersOf(account, stack.name))
    },

    deploy(stack: StackDefinition, opts?: RuntimeCallOptions): Promise<StackState> {
      const account = opts?.account ?? defaultAccount
      return exclusive(`${account}/${stack.name}`, async () => {
        const emit = emitter(opts)
        const plan = planStack(stack, { account })
        const existing = await containersOf(account, stack.name)
        const changes = diff(plan, existing)

        // Ports are checked before anything is created: a half-deployed stack is worse than none.
        const own = new Set(existing.map((e) => e.info.Id))
        const wanted = plan.services.filter((s) => !changes.unchanged.includes(s.name)).flatMap((s) => s.ports)
        const taken = await portsInUse(docker, wanted, own).catch((error) => {
          throw unreachable(error)
        })
        if (taken.length > 0) {
          throw new ThreshError({
            code: 'port_in_use',
            message: taken.map((p) => `Port ${p.host} is already in use on the target node`).join('; '),
            plugin: PLUGIN,
            status: 409,
            details: taken,
          })
        }

        emit({ type: 'stack', stack: plan.name, status: 'deploying' })
        try {
          await ensureNetwork(plan)
          await ensureVolumes(plan)
          for (const name of changes.remove) {
            const gone = existing.find((e) => e.info.Labels[LABELS.service] === name)
            if (gone) await removeQuietly(gone.info.Id)
          }
        } catch (error) {
          throw unreachable(error)
        }

        const routed = plan.services.filter((s) => s.traefik && s.ports.length > 0)
        const px = routed.length > 0 ? await getProxy() : undefined

        // Pulls start at once for every service; each service awaits only its own image.
        const pulls = new Map<string, Promise<void>>()
        for (const service of plan.services) {
          if (pulls.has(service.image)) continue
          const promise = ensureImage(docker, service.image, (p) => {
            for (const s of plan.services.filter((x) => x.image === service.image)) {
              if (p.percent !== undefined || p.message) {
                emit({ type: 'pull', stack: plan.name, service: s.name, image: service.image, ...p })
              }
            }
          }).then(() => {})
          promise.catch(() => {})
          pulls.set(service.image, promise)
        }
        for (const s of plan.services) emit({ type: 'service', stack: plan.name, service: s.name, status: 'pending' })

        const results = await runLevels(
          plan,
          (service) =>
            converge(
              plan,
              service,
              existing.find((e) => e.info.Labels[LABELS.service] === service.name),
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
        const state = stateFrom(plan.name, account, await containersOf(account, stack.name), results)
        const firstError = state.services.find((s) => s.status === 'error') ?? state.services.find((s) => s.status === 'blocked')
        if (firstError) state.error = `${firstError.name}: ${firstError.error}`
        else delete state.error
        emit({ type: 'stack', stack: plan.name, status: state.status, ...(state.error ? { message: state.error } : {}) })
        return state
      })
    },

    async status(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = opts?.account ?? defaultAccount
      const existing = await containersOf(account, name)
      return existing.length === 0 ? undefined : stateFrom(name, account, existing)
    },

    async list(opts?: RuntimeCallOptions): Promise<StackState[]> {
      const account = opts?.account ?? defaultAccount
      const existing = await containersOf(account)
      const names = [...new Set(existing.map((e) => e.info.Labels[LABELS.stack]!))].sort()
      return names.map((n) => stateFrom(n, account, existing.filter((e) => e.info.Labels[LABELS.stack] === n)))
    },

    updateService(name: string, serviceName: string, image: string, opts?: RuntimeCallOptions): Promise<StackState> {
      const account = opts?.account ?? defaultAccount
      const normalized = image.startsWith('docker:') ? image.slice('docker:'.length) : image
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(account, name)
        if (existing.length === 0) throw notFound(name)
        const old = existing.find((e) => e.info.Labels[LABELS.service] === serviceName)
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
        const px = next.traefik && next.ports.length > 0 ? await getProxy() : undefined
        say('stopping')
        await stopQuietly(old.info.Id)
        await oldContainer.rename({ name: backupName })
        let newId: string | undefined
        let failure: string | undefined
        try {
          say('creating')
          newId = (await docker.createContainer(createOptions(next, plan.objects.network.name, px ? px.labelsFor(plan, next) : {}))).id
          say('starting')
          await docker.getContainer(newId).start()
          const check = await confirmRunning(newId, { ...next, dependents: next.dependents.length > 0 ? next.dependents : ['update'] })
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
        return stateFrom(name, account, await containersOf(account, name))
      })
    },

    stop(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = opts?.account ?? defaultAccount
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(account, name)
        if (existing.length === 0) return undefined
        const plan = planFrom(account, name, existing)
        // Dependents stop first, the reverse of the start order.
        const levels = plan ? [...plan.levels].reverse() : [existing.map((e) => e.info.Labels[LABELS.service]!)]
        for (const level of levels) {
          await Promise.all(
            level.map(async (svc) => {
              const e = existing.find((x) => x.info.Labels[LABELS.service] === svc)
              if (!e) return
              await stopQuietly(e.info.Id)
              emit({ type: 'service', stack: name, service: svc, status: 'stopped' })
            }),
          )
        }
        return stateFrom(name, account, await containersOf(account, name))
      })
    },

    start(name: string, opts?: RuntimeCallOptions): Promise<StackState | undefined> {
      const account = opts?.account ?? defaultAccount
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(account, name)
        const plan = planFrom(account, name, existing)
        if (!plan) return undefined
        const results = await runLevels(
          plan,
          (service) =>
            converge(plan, service, existing.find((e) => e.info.Labels[LABELS.service] === service.name), Promise.resolve(), emit, {}),
          emit,
        )
        return stateFrom(name, account, await containersOf(account, name), results)
      })
    },

    destroy(name: string, opts?: RuntimeCallOptions): Promise<boolean> {
      const account = opts?.account ?? defaultAccount
      return exclusive(`${account}/${name}`, async () => {
        const emit = emitter(opts)
        const existing = await containersOf(account, name)
        await Promise.all(
          existing.map(async (e) => {
            await removeQuietly(e.info.Id)
            const svc = e.info.Labels[LABELS.service]
            if (svc) emit({ type: 'service', stack: name, service: svc, status: 'stopped', message: 'removed' })
          }),
        )
        const f = filters(account, name)
        const networks = await docker.listNetworks({ filters: f })
        for (const n of networks) {
          try {
            await docker.getNetwork(n.Id).remove()
          } catch (error) {
            if (statusCode(error) !== 404) {
              // The proxy may still be attached; detach it and retry once.
              await docker.getNetwork(n.Id).disconnect({ Container: 'thresh-traefik', Force: true }).catch(() => {})
              await docker.getNetwork(n.Id).remove().catch((e2) => {
                if (statusCode(e2) !== 404) throw e2
              })
            }
          }
        }
        const { Volumes } = await docker.listVolumes({ filters: f })
        for (const v of Volumes ?? []) {
          await docker.getVolume(v.Name).remove().catch((error) => {
            if (statusCode(error) !== 404) throw error
          })
        }
        if (existing.some((e) => e.spec?.traefik) && options.proxy !== false) await (await getProxy())?.release(name)
        return existing.length + networks.length + (Volumes?.length ?? 0) > 0
      })
    },
  }
  return runtime

  function notFound(name: string): ThreshError {
    return new ThreshError({ code: 'stack_not_found', message: `No stack named ${name} on this node`, plugin: PLUGIN, status: 404 })
  }
}
