// Two read-only calls to the Docker Engine API (running containers, engine version) over its socket,
// without dockerode: metrics every few seconds should not cost the agent dockerode's memory.
import { request } from 'node:http'
import process from 'node:process'

export interface DockerApi {
  get<T>(path: string): Promise<T>
}

/** DOCKER_HOST (unix:// or tcp://), else the local socket. */
export function createDockerApi(dockerHost: string | undefined = process.env.DOCKER_HOST, timeoutMs = 5000): DockerApi {
  const target = !dockerHost
    ? { socketPath: '/var/run/docker.sock' }
    : dockerHost.startsWith('unix://')
      ? { socketPath: dockerHost.slice('unix://'.length) }
      : (() => {
          const url = new URL(dockerHost.replace(/^tcp:/, 'http:'))
          return { host: url.hostname, port: Number(url.port || 2375) }
        })()
  return {
    get<T>(path: string) {
      return new Promise<T>((resolve, reject) => {
        const req = request({ ...target, path, method: 'GET', timeout: timeoutMs }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => {
            if ((res.statusCode ?? 500) >= 300) return reject(new Error(`Docker answered ${res.statusCode} for ${path}`))
            try {
              resolve(JSON.parse(body) as T)
            } catch (error) {
              reject(error)
            }
          })
          res.on('error', reject)
        })
        req.on('timeout', () => req.destroy(new Error(`Docker did not answer ${path} within ${timeoutMs} ms`)))
        req.on('error', reject)
        req.end()
      })
    },
  }
}
