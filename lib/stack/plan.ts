// Turns a valid stack into a deployment plan: start levels, env with ${svc.host}/${svc.port} resolved,
// and the Docker objects (network, volumes, containers, labels) the runtime will create.
import { dependencyLevels } from './graph.ts'
import { configHash } from './hash.ts'
import type { ProxyKind } from './proxy-contract.ts'
import type { FileMount, StackDefinition, StackFile, StackService, VolumeMount } from './types.ts'

/** Labels every Docker object of a stack carries; Docker is the source of truth on a node. */
export const LABELS = {
  account: 'thresh.account',
  stack: 'thresh.stack',
  service: 'thresh.service',
  configHash: 'thresh.config-hash',
  /** The definition the stack was deployed from, kept on its network so `info` works after a restart. */
  definition: 'thresh.definition',
  managed: 'thresh.managed',
  /** On a volume: its name in the definition, so a redeploy finds it whatever Docker name it got. */
  volume: 'thresh.volume',
  /** On a stack's extra network: its name in the definition. */
  network: 'thresh.network',
} as const

export const DEFAULT_ACCOUNT = 'local'

export interface PlanOptions {
  /** Account the stack belongs to; objects of other accounts never collide (default `local`). */
  account?: string
}

export interface PlannedVolume extends VolumeMount {
  /** Docker volume name, scoped to the stack. */
  volume: string
}

/** A secret or config as the runtime mounts it: a digest of its content (never the content) decides recreation. */
export interface PlannedFile extends FileMount {
  digest: string
}

export interface PlannedService extends Omit<StackService, 'volumes' | 'containerName' | 'secrets' | 'configs' | 'networks'> {
  containerName: string
  volumes: PlannedVolume[]
  secrets?: PlannedFile[]
  configs?: PlannedFile[]
  /** Networks to join: `default` (the stack's own) or a Docker network name, with the service's aliases. */
  networks?: Record<string, { aliases: string[] }>
  /** The container_name the definition asked for (part of the config hash). */
  requestedName?: string
  /** Services that wait for this one. */
  dependents: string[]
  /** 0-based start level. */
  level: number
  /** The proxy a routed service goes through when the stack names one (`default`: the node's); else Traefik. */
  proxy?: ProxyKind | 'default'
  /** Fingerprint of everything that needs a new container when it changes. */
  configHash: string
  labels: Record<string, string>
}

export interface StackPlan {
  name: string
  account: string
  /** Services grouped by start level; a level starts in parallel once the previous one runs. */
  levels: string[][]
  services: PlannedService[]
  traefik: boolean
  targetNode?: string
  targetCluster?: string
  objects: {
    network: { name: string; labels: Record<string, string> }
    volumes: Array<{ name: string; labels: Record<string, string> }>
    /** The extra networks the stack declares, by Docker name. */
    networks?: Array<{ name: string; labels: Record<string, string> }>
    containers: Array<{ name: string; service: string; image: string }>
  }
}

/** Accounts as they may appear in Docker object names: no `.` or `_`, which separate the name's parts. */
export const ACCOUNT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/

/** Prefix for Docker object names: `<stack>` locally, `<account>.<stack>` for other accounts. */
export function objectPrefix(stack: string, account: string = DEFAULT_ACCOUNT): string {
  return account === DEFAULT_ACCOUNT ? stack : `${account}.${stack}`
}

/**
 * The Docker name of a stack's container, volume or network: `<stack>_<object>` or `<account>.<stack>_<object>`.
 * Stacks and accounts hold neither `.` nor `_`, so the first of them ends the account or stack and no two
 * (account, stack, object) triples share a name, whatever `_` or `.` the volume name holds.
 */
export function objectName(stack: string, account: string, object: string): string {
  return `${objectPrefix(stack, account)}_${object}`
}

/** The `-`-joined name used before #14 (ambiguous: `rt-vc`+`x-data` = `rt-vc-x`+`data`); only for finding old objects. */
export function legacyObjectName(stack: string, account: string, object: string): string {
  return `${account === DEFAULT_ACCOUNT ? stack : `${account}-${stack}`}-${object}`
}

/** Replaces `${svc.host}` with the service's name and `${svc.port}` with its first container port. */
export function resolveEnv(stack: StackDefinition, env: Record<string, string>): Record<string, string> {
  const byName = new Map(stack.services.map((s) => [s.name, s]))
  const resolved: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    resolved[key] = value.replace(/\$\{([^}.]+)\.(host|port)\}/g, (whole, name: string, field: string) => {
      const target = byName.get(name)
      if (!target) return whole
      if (field === 'host') return target.name
      return target.ports[0] ? String(target.ports[0].container) : whole
    })
  }
  return resolved
}

/** The stack with every service's env resolved: what the hub dispatches to a node. */
export function resolveStack(stack: StackDefinition): StackDefinition {
  return { ...stack, services: stack.services.map((s) => ({ ...s, env: resolveEnv(stack, s.env) })) }
}

/** Everything about a service that needs a new container when it changes (not its dependencies). */
export function serviceConfigHash(service: Omit<PlannedService, 'dependsOn' | 'containerName' | 'dependents' | 'level' | 'configHash' | 'labels' | 'volumes'> & { dependsOn?: string[]; volumes: VolumeMount[] }): string {
  const { dependsOn: _d, dependsOnConditions: _c, ...rest } = service as PlannedService
  const { containerName: _n, dependents: _t, level: _l, configHash: _h, labels: _x, ...config } = rest as Partial<PlannedService>
  // Planned volumes carry their Docker name too; the hash covers only what the definition says.
  const volumes = service.volumes.map(({ name, path, readOnly, bind }) => ({ name, path, readOnly, bind }))
  const { secrets, configs, ...others } = config
  const digests = (files?: PlannedFile[]) => files?.map(({ source, target, mode, digest }) => ({ source, target, mode, digest }))
  return configHash({ ...others, volumes, secrets: digests(secrets), configs: digests(configs) })
}

/** The mounts of `files` with the digest of the stack's content for each (content itself stays out of the plan). */
function planFiles(mounts: FileMount[] | undefined, files: Record<string, StackFile> | undefined): PlannedFile[] | undefined {
  return mounts?.map((m) => ({ ...m, digest: configHash(files?.[m.source]?.content ?? '') }))
}

/**
 * Plans a validated stack (see `parseStack`).
 * @example
 * const result = parseStack(text)
 * if (result.ok) console.log(planStack(result.stack).levels) // [['postgres', 'redis'], ['api'], ['web']]
 */
export function planStack(stack: StackDefinition, options: PlanOptions = {}): StackPlan {
  const account = options.account ?? DEFAULT_ACCOUNT
  const named = (object: string) => objectName(stack.name, account, object)
  const names = stack.services.map((s) => s.name)
  const levels = dependencyLevels(names, new Map(stack.services.map((s) => [s.name, s.dependsOn])))
  const levelOf = new Map<string, number>()
  levels.forEach((level, i) => level.forEach((n) => levelOf.set(n, i)))
  const base = { [LABELS.managed]: 'true', [LABELS.account]: account, [LABELS.stack]: stack.name }

  const networkName = (logical: string) => (logical === 'default' ? 'default' : named(`net-${logical}`))
  const services: PlannedService[] = stack.services.map((service) => {
    const env = resolveEnv(stack, service.env)
    const networks = service.networks
      ? Object.fromEntries(Object.entries(service.networks).map(([n, settings]) => [networkName(n), settings]))
      : undefined
    const secrets = planFiles(service.secrets, stack.secrets)
    const configs = planFiles(service.configs, stack.configs)
    // A routed service of a stack that names its proxy goes through that proxy (part of the hash).
    const proxy = stack.proxy !== undefined && service.traefik ? { proxy: stack.proxy } : {}
    const { containerName: wanted, secrets: _s, configs: _c, networks: _n, ...definition } = service
    const planned = {
      ...definition,
      ...proxy,
      ...(wanted !== undefined ? { requestedName: wanted } : {}),
      env,
      ...(networks ? { networks } : {}),
      ...(secrets ? { secrets } : {}),
      ...(configs ? { configs } : {}),
    }
    // A container_name is kept as written on the local engine; for an account it is scoped like the rest.
    const containerName = wanted === undefined ? named(service.name) : account === DEFAULT_ACCOUNT ? wanted : `${account}.${wanted}`
    const hash = serviceConfigHash(planned)
    return {
      ...planned,
      containerName,
      volumes: service.volumes.map((v) => ({ ...v, volume: v.bind ? v.name : named(v.name) })),
      dependents: stack.services.filter((s) => s.dependsOn.includes(service.name)).map((s) => s.name),
      level: levelOf.get(service.name) ?? -1,
      configHash: hash,
      labels: { ...base, [LABELS.service]: service.name, [LABELS.configHash]: hash },
    }
  })

  const volumeNames = [...new Set(services.flatMap((s) => s.volumes.filter((v) => !v.bind).map((v) => v.name)))]
  return {
    name: stack.name,
    account,
    levels,
    services,
    traefik: stack.traefik,
    ...(stack.targetNode !== undefined ? { targetNode: stack.targetNode } : {}),
    ...(stack.targetCluster !== undefined ? { targetCluster: stack.targetCluster } : {}),
    objects: {
      network: { name: named('net'), labels: { ...base } },
      volumes: volumeNames.map((name) => ({ name: named(name), labels: { ...base, [LABELS.volume]: name } })),
      ...(stack.networks?.length ? { networks: stack.networks.map((n) => ({ name: networkName(n), labels: { ...base, [LABELS.network]: n } })) } : {}),
      containers: services.map((s) => ({ name: s.containerName, service: s.name, image: s.image })),
    },
  }
}
