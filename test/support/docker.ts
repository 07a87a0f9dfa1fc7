// Connects tests to a real Docker engine (starting one and building the offline test images when needed)
// and fails with one clear sentence when the engine cannot be had.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import Docker from 'dockerode'

export { freePort } from './process.ts'

const root = join(import.meta.dirname, '../..')
let ready: Promise<Docker> | undefined

/** A Docker client once the engine answers and the `thresh-test/*` images exist. */
export function connectDocker(): Promise<Docker> {
  ready ??= (async () => {
    const docker = new Docker()
    try {
      await docker.ping()
    } catch {
      try {
        execFileSync('sh', [join(root, 'scripts/docker-start.sh')], { stdio: 'pipe' })
      } catch (error) {
        const detail = String((error as { stderr?: Buffer }).stderr ?? error).trim()
        throw new Error(`These tests need a Docker engine and none could be started: ${detail}`)
      }
    }
    try {
      execFileSync('sh', [join(root, 'scripts/docker-test-images.sh')], { stdio: 'pipe' })
    } catch (error) {
      throw new Error(`Building the test images failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`)
    }
    return docker
  })()
  return ready
}

/** A name no other test run uses: safe for stacks, containers and volumes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`
}

/** GET a URL, retrying briefly while the server inside a fresh container comes up. */
export async function httpText(url: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (response.ok) return (await response.text()).trim()
      if (Date.now() > deadline) throw new Error(`GET ${url} answered ${response.status}`)
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Every container, network and volume carrying the stack's label. */
export async function labelledObjects(docker: Docker, stack: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`thresh.stack=${stack}`] })
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ])
  return [
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
  ]
}
