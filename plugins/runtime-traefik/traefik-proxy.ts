// Provisions one `thresh-traefik` container per node for stacks that ask for Traefik, and removes it
// when the last routed service goes away.
import type Docker from 'dockerode'
import { formatVolume, type ProgressEvent, type StackPlan, type StackProxy } from '../../lib/stack/index.ts'
import { ensureImage, lazyDocker, publish } from '../../lib/docker/index.ts'
import { PROXY_LABEL } from '../../lib/docker/node-inventory.ts'
import { traefikLabels } from './labels.ts'

export const TRAEFIK_CONTAINER = 'thresh-traefik'
export const TRAEFIK_IMAGE = 'traefik:v3.3'
export { PROXY_LABEL }

export interface TraefikProxyOptions {
  docker?: Docker
  image?: string
  containerName?: string
  /** Host ports for the `web` and `websecure` entry points (default 80 and 443). */
  httpPort?: number
  httpsPort?: number
  /** Host address the entry points bind (default every address). */
  hostIp?: string
  /** Docker socket the provider watches (default /var/run/docker.sock). */
  socketPath?: string
}

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode
}

/** Traefik's static configuration as command-line flags: Docker provider, opt-in routing, two entry points. */
export function traefikArgs(): string[] {
  return [
    '--providers.docker=true',
    '--providers.docker.exposedbydefault=false',
    '--entrypoints.web.address=:80',
    '--entrypoints.websecure.address=:443',
    '--entrypoints.websecure.http.tls=true',
    '--ping=true',
  ]
}

export function createTraefikProxy(options: TraefikProxyOptions = {}): StackProxy & { containerName: string } {
  const docker = options.docker ?? lazyDocker(undefined)
  const name = options.containerName ?? TRAEFIK_CONTAINER
  const image = options.image ?? TRAEFIK_IMAGE
  const hostIp = options.hostIp ?? ''
  const socket = options.socketPath ?? '/var/run/docker.sock'
  const entryPoints = publish([
    { host: options.httpPort ?? 80, container: 80, protocol: 'tcp', hostIp },
    { host: options.httpsPort ?? 443, container: 443, protocol: 'tcp', hostIp },
  ])
  let pending: Promise<void> | undefined

  async function inspect(): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await docker.getContainer(name).inspect()
    } catch (error) {
      if (statusCode(error) === 404) return undefined
      throw error
    }
  }

  async function provision(onProgress?: (event: ProgressEvent) => void, stack = ''): Promise<void> {
    const current = await inspect()
    if (current?.State.Running) return
    if (!current) {
      await ensureImage(docker, image, (p) =>
        onProgress?.({ type: 'pull', stack, service: name, image, ...p }),
      )
      try {
        await docker.createContainer({
          name,
          Image: image,
          Cmd: traefikArgs(),
          Labels: { [PROXY_LABEL]: 'traefik' },
          ExposedPorts: entryPoints.exposed,
          HostConfig: {
            Binds: [formatVolume({ name: socket, path: '/var/run/docker.sock', readOnly: true })],
            PortBindings: entryPoints.bindings,
            RestartPolicy: { Name: 'unless-stopped' },
          },
        })
      } catch (error) {
        if (statusCode(error) !== 409) throw error
      }
    }
    try {
      await docker.getContainer(name).start()
    } catch (error) {
      if (statusCode(error) !== 304) throw error
    }
  }

  return {
    containerName: name,
    labelsFor: traefikLabels,

    async ensure(plan: StackPlan, onProgress?: (event: ProgressEvent) => void): Promise<void> {
      // Two stacks deploying at once share one provisioning.
      pending ??= provision(onProgress, plan.name).finally(() => {
        pending = undefined
      })
      await pending
      try {
        await docker.getNetwork(plan.objects.network.name).connect({ Container: name })
      } catch (error) {
        const message = String((error as Error).message)
        if (!/already exists|already attached/i.test(message)) throw error
      }
    },

    async release(): Promise<void> {
      const routed = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: ['thresh.managed=true', 'traefik.enable=true'] }),
      })
      if (routed.length > 0) return
      try {
        await docker.getContainer(name).remove({ force: true })
      } catch (error) {
        if (statusCode(error) !== 404) throw error
      }
    },
  }
}
