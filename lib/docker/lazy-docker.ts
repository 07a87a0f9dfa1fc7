// A dockerode client that loads dockerode only when first used, for processes (an idle agent) that
// may never talk to Docker.
import { createRequire } from 'node:module'
import type Docker from 'dockerode'

/**
 * The client for `given`, made on first use: dockerode loads gRPC, protobuf and ssh2 (about 20 MB of
 * RSS), which an idle agent that only reports metrics should not carry until it runs a stack command.
 */
export function lazyDocker(given: Docker | Docker.DockerOptions | undefined): Docker {
  if (given && typeof (given as Docker).listContainers === 'function') return given as Docker
  let client: Docker | undefined
  const real = (): Docker => {
    if (!client) {
      const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker
      client = new Dockerode(given as Docker.DockerOptions | undefined)
    }
    return client
  }
  return new Proxy({} as Docker, {
    get(_, key) {
      // Not a thenable: awaiting or resolving with the client must not load dockerode.
      if (key === 'then') return undefined
      const value = Reflect.get(real(), key) as unknown
      return typeof value === 'function' ? value.bind(real()) : value
    },
  })
}
