// Translates a planned service into Docker create options, and reads the plan back from a container's
// labels so that start, update and info work from Docker alone after thresh restarts.
import type Docker from 'dockerode'
import { publish } from '../../lib/docker/publish.ts'
import { LABELS, serviceConfigHash, type PlannedService, type PortMapping } from '../../lib/stack/index.ts'

/** Label holding the service's planned spec (JSON), the source for restarts and rolling updates. */
export const SPEC_LABEL = 'thresh.spec'

export type ServiceSpec = Omit<PlannedService, 'labels'>

const NS_PER_MS = 1_000_000

/** Set once a service runs: it comes back after a node reboot like compose services, not after a stop. */
export const RESTART_POLICY = { Name: 'unless-stopped' }

/** The service's own restart policy (`restart:`), else RESTART_POLICY; applied once it is confirmed running. */
export function restartPolicyOf(service: Pick<ServiceSpec, 'restart'>): { Name: string; MaximumRetryCount?: number } {
  if (!service.restart) return RESTART_POLICY
  const [name, count] = service.restart.split(':')
  return name === 'on-failure' && count ? { Name: name, MaximumRetryCount: Number(count) } : { Name: name! }
}

/** The Docker network a service's container is created on: the stack's own unless it names only others. */
export function primaryNetwork(service: Pick<ServiceSpec, 'networks'>, stackNetwork: string): string {
  const names = Object.keys(service.networks ?? {})
  return names.length === 0 || names.includes('default') ? stackNetwork : names[0]!
}

/** Every network the service joins (Docker names) with its aliases; its own name is an alias on each. */
export function networksOf(service: Pick<ServiceSpec, 'networks' | 'name'>, stackNetwork: string): Array<{ network: string; aliases: string[] }> {
  const entries = Object.entries(service.networks ?? { default: { aliases: [] } })
  return entries.map(([name, { aliases }]) => ({ network: name === 'default' ? stackNetwork : name, aliases: [service.name, ...aliases.filter((a) => a !== service.name)] }))
}

/** Where a stack's secret or config file lies on the node: named by its digest, so a rotation is a new file. */
export function stackFilePath(filesDir: string, labels: Record<string, string>, kind: 'secrets' | 'configs', file: { source: string; digest: string }): string {
  return `${filesDir}/${labels[LABELS.account]}.${labels[LABELS.stack]}/${kind}/${file.source}-${file.digest}`
}

const bytesOf = (limits: ServiceSpec['resources']) => ({
  ...(limits?.memoryBytes !== undefined ? { Memory: limits.memoryBytes } : {}),
  ...(limits?.nanoCpus !== undefined ? { NanoCpus: limits.nanoCpus } : {}),
  ...(limits?.pids !== undefined ? { PidsLimit: limits.pids } : {}),
  ...(limits?.shmBytes !== undefined ? { ShmSize: limits.shmBytes } : {}),
})

export function createOptions(
  service: PlannedService,
  network: string,
  extraLabels: Record<string, string> = {},
  filesDir?: string,
): Docker.ContainerCreateOptions {
  const { labels, ...spec } = service
  const { exposed, bindings } = publish(service.ports)
  for (const port of service.expose ?? []) exposed[port] = {}
  const healthcheck = service.healthcheck
  const fileMounts = (['secrets', 'configs'] as const).flatMap((kind) =>
    (service[kind] ?? []).map((file) => ({ Type: 'bind' as const, Source: stackFilePath(filesDir ?? '', labels, kind, file), Target: file.target, ReadOnly: true })),
  )
  const primary = primaryNetwork(service, network)
  const aliases = networksOf(service, network).find((n) => n.network === primary)?.aliases ?? [service.name]
  return {
    name: service.containerName,
    Image: service.image,
    Hostname: service.hostname ?? service.name,
    Env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
    ...(service.command ? { Cmd: service.command } : {}),
    ...(service.entrypoint ? { Entrypoint: service.entrypoint } : {}),
    ...(service.user !== undefined ? { User: service.user } : {}),
    ...(service.workingDir !== undefined ? { WorkingDir: service.workingDir } : {}),
    ...(service.stopSignal !== undefined ? { StopSignal: service.stopSignal } : {}),
    ...(service.stopGracePeriodMs !== undefined ? { StopTimeout: Math.ceil(service.stopGracePeriodMs / 1000) } : {}),
    Labels: { ...service.userLabels, ...labels, ...extraLabels, [SPEC_LABEL]: JSON.stringify(spec) },
    ExposedPorts: exposed,
    ...(healthcheck
      ? {
          Healthcheck: {
            Test: healthcheck.test,
            Interval: healthcheck.intervalMs * NS_PER_MS,
            Timeout: healthcheck.timeoutMs * NS_PER_MS,
            Retries: healthcheck.retries,
            StartPeriod: healthcheck.startPeriodMs * NS_PER_MS,
          },
        }
      : {}),
    HostConfig: {
      PortBindings: bindings,
      Mounts: [
        ...service.volumes.map((v) => ({ Type: v.bind ? ('bind' as const) : ('volume' as const), Source: v.volume, Target: v.path, ReadOnly: v.readOnly })),
        ...fileMounts,
      ],
      // No restarts until the service is confirmed up (see RESTART_POLICY): a crash must surface, not loop.
      RestartPolicy: { Name: 'no' },
      ...(service.capAdd ? { CapAdd: service.capAdd } : {}),
      ...(service.capDrop ? { CapDrop: service.capDrop } : {}),
      ...(service.sysctls ? { Sysctls: service.sysctls } : {}),
      ...bytesOf(service.resources),
    },
    NetworkingConfig: { EndpointsConfig: { [primary]: { Aliases: aliases } } },
  }
}

export function readSpec(labels: Record<string, string> | undefined): ServiceSpec | undefined {
  const raw = labels?.[SPEC_LABEL]
  if (!raw) return undefined
  try {
    return JSON.parse(raw) as ServiceSpec
  } catch {
    return undefined
  }
}

/** The spec with a new image, its hash and labels recomputed. */
export function withImage(spec: ServiceSpec, labels: Record<string, string>, image: string): PlannedService {
  const next = { ...spec, image }
  const configHash = serviceConfigHash(next)
  const base: Record<string, string> = {}
  for (const key of [LABELS.managed, LABELS.account, LABELS.stack, LABELS.service]) {
    if (labels[key] !== undefined) base[key] = labels[key]
  }
  return { ...next, configHash, labels: { ...base, [LABELS.configHash]: configHash } }
}
