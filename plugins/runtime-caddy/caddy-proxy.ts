// Provisions one `thresh-caddy` container per node for stacks routed through Caddy, keeps its
// configuration equal to the routed containers Docker runs (written into the container and loaded with
// `caddy reload`, so Caddy's admin API never leaves the container), and removes it when the last routed
// service goes away.
import type Docker from 'dockerode'
import { isAsideName } from '../../lib/docker/aside.ts'
import { ensureImage, lazyDocker, publish } from '../../lib/docker/index.ts'
import { putFile } from '../../lib/docker/put-file.ts'
import { LABELS, routedPort, routeRule, type PlannedService, type ProgressEvent, type StackPlan, type StackProxy } from '../../lib/stack/index.ts'
import { caddyConfig, matchersOf, type CaddyRoute } from './caddy-routes.ts'

export const CADDY_CONTAINER = 'thresh-caddy'
export const CADDY_IMAGE = 'caddy:2'
export const CONFIG_PATH = '/etc/thresh/caddy.json'
const PROXY_LABEL = 'thresh.proxy'

/** Labels a routed container carries: the rule, the port and the network Caddy reaches it on. */
export const CADDY_LABELS = { rule: 'thresh.caddy.rule', port: 'thresh.caddy.port', network: 'thresh.caddy.network' } as const

export interface CaddyProxyOptions {
  docker?: Docker
  image?: string
  containerName?: string
  /** Host port for plain HTTP (default 80). */
  httpPort?: number
  /** Host address it binds (default every address). */
  hostIp?: string
}

const statusCode = (error: unknown): number | undefined => (error as { statusCode?: number })?.statusCode
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function caddyLabels(plan: StackPlan, service: PlannedService): Record<string, string> {
  const port = routedPort(service)
  if (port === undefined) return {}
  const rule = routeRule(plan, service)
  // A rule Caddy cannot express fails here, before anything starts.
  try {
    matchersOf(rule)
  } catch (error) {
    throw Object.assign(new Error(`${service.name}: ${(error as Error).message}`), { statusCode: 400 })
  }
  return { [CADDY_LABELS.rule]: rule, [CADDY_LABELS.port]: String(port), [CADDY_LABELS.network]: plan.objects.network.name }
}

export function createCaddyProxy(options: CaddyProxyOptions = {}): StackProxy & { containerName: string; reload(): Promise<void> } {
  const docker = options.docker ?? lazyDocker(undefined)
  const name = options.containerName ?? CADDY_CONTAINER
  const image = options.image ?? CADDY_IMAGE
  const entry = publish([{ host: options.httpPort ?? 80, container: 80, protocol: 'tcp', hostIp: options.hostIp ?? '' }])
  let provisioning: Promise<void> | undefined
  // Reloads one at a time, each from what Docker runs at that moment.
  let reloading: Promise<void> = Promise.resolve()

  async function inspect(): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await docker.getContainer(name).inspect()
    } catch (error) {
      if (statusCode(error) === 404) return undefined
      throw error
    }
  }

  /** Every running routed container's rule and address, set-aside (old) containers left out. */
  async function routes(): Promise<CaddyRoute[]> {
    const list = await docker.listContainers({ filters: JSON.stringify({ label: [`${LABELS.managed}=true`, CADDY_LABELS.rule], status: ['running'] }) })
    const byRule = new Map<string, CaddyRoute>()
    for (const c of list) {
      if (isAsideName(c.Names?.[0])) continue
      const ip = c.NetworkSettings?.Networks?.[c.Labels[CADDY_LABELS.network] ?? '']?.IPAddress
      if (!ip) continue
      const rule = c.Labels[CADDY_LABELS.rule]!
      const route = byRule.get(rule) ?? byRule.set(rule, { rule, upstreams: [] }).get(rule)!
      route.upstreams.push(`${ip}:${c.Labels[CADDY_LABELS.port]}`)
    }
    return [...byRule.values()]
  }

  async function exec(cmd: string[]): Promise<{ code: number; output: string }> {
    const e = await docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true })
    const stream = await e.start({ hijack: true, stdin: false })
    let output = ''
    stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    await new Promise<void>((resolve) => {
      stream.on('end', resolve)
      stream.on('close', resolve)
    })
    const code = (await e.inspect()).ExitCode ?? -1
    return { code, output: output.replace(/[\u0000-\u0008\u000e-\u001f]/g, '').trim() }
  }

  async function load(): Promise<void> {
    const config = JSON.stringify(caddyConfig(await routes()))
    await putFile(docker.getContainer(name), CONFIG_PATH, config)
    // Right after a start Caddy's admin endpoint may not listen yet: a few quick tries.
    let last = ''
    for (let attempt = 0; attempt < 40; attempt++) {
      const { code, output } = await exec(['caddy', 'reload', '--config', CONFIG_PATH])
      if (code === 0) return
      last = output.split('\n').filter(Boolean).at(-1) ?? `exit status ${code}`
      await sleep(100)
    }
    throw new Error(`Caddy did not take its configuration: ${last}`)
  }

  function reload(): Promise<void> {
    const next = reloading.then(load, load)
    reloading = next.catch(() => {})
    return next
  }

  async function provision(onProgress?: (event: ProgressEvent) => void, stack = ''): Promise<void> {
    const current = await inspect()
    if (current?.State.Running) return
    if (!current) {
      await ensureImage(docker, image, (p) => onProgress?.({ type: 'pull', stack, service: name, image, ...p }))
      try {
        await docker.createContainer({
          name,
          Image: image,
          Cmd: ['caddy', 'run', '--config', CONFIG_PATH],
          Env: ['XDG_CONFIG_HOME=/config', 'XDG_DATA_HOME=/data', 'HOME=/data'],
          Labels: { [PROXY_LABEL]: 'caddy' },
          ExposedPorts: entry.exposed,
          HostConfig: { PortBindings: entry.bindings, RestartPolicy: { Name: 'unless-stopped' } },
        })
      } catch (error) {
        if (statusCode(error) !== 409) throw error
      }
      await putFile(docker.getContainer(name), CONFIG_PATH, JSON.stringify(caddyConfig([])))
    }
    try {
      await docker.getContainer(name).start()
    } catch (error) {
      if (statusCode(error) !== 304) throw error
    }
  }

  return {
    containerName: name,
    labelsFor: caddyLabels,
    reload,

    async ensure(plan: StackPlan, onProgress?: (event: ProgressEvent) => void): Promise<void> {
      provisioning ??= provision(onProgress, plan.name).finally(() => {
        provisioning = undefined
      })
      await provisioning
      try {
        await docker.getNetwork(plan.objects.network.name).connect({ Container: name })
      } catch (error) {
        if (!/already exists|already attached/i.test(String((error as Error).message))) throw error
      }
      await reload()
    },

    async release(): Promise<void> {
      const routed = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.managed}=true`, CADDY_LABELS.rule] }) })
      if (routed.length > 0) {
        if ((await inspect())?.State.Running) await reload()
        return
      }
      try {
        await docker.getContainer(name).remove({ force: true })
      } catch (error) {
        if (statusCode(error) !== 404) throw error
      }
    },
  }
}
