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

export function createOptions(
  service: PlannedService,
  network: string,
  extraLabels: Record<string, string> = {},
): Docker.ContainerCreateOptions {
  const { labels, ...spec } = service
  const { exposed, bindings } = publish(service.ports)
  const healthcheck = service.healthcheck
  return {
    name: service.containerName,
    Image: service.image,
    Hostname: service.name,
    Env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
    ...(service.command ? { Cmd: service.command } : {}),
    Labels: { ...labels, ...extraLabels, [SPEC_LABEL]: JSON.stringify(spec) },
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
      Mounts: service.volumes.map((v) => ({ Type: 'volume' as const, Source: v.volume, Target: v.path, ReadOnly: v.readOnly })),
      // No restarts until the service is confirmed up (see RESTART_POLICY): a crash must surface, not loop.
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [service.name] } } },
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
