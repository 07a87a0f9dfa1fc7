// The Docker Engine API over its socket without dockerode: metrics every few seconds and the node's
// container, image and volume tools should not cost the agent dockerode's memory (about 20 MB).
import { Agent, request } from 'node:http'
import process from 'node:process'

export interface EngineReply<T> {
  status: number
  body: T
}

export interface DockerApi {
  /** GET `path`; an answer of 300 or more rejects. */
  get<T>(path: string): Promise<T>
  /** Any method; the status comes back as it is (Docker's errors carry `{message}`). */
  send<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, options?: { timeoutMs?: number }): Promise<EngineReply<T>>
}

export class DockerApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
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

  // A burst of calls (stats of every container) reuses a few connections; idle ones close after 5 s.
  const agent = new Agent({ keepAlive: true, maxSockets: 8, timeout: 5000 })

  function send<T>(method: string, path: string, options: { timeoutMs?: number } = {}): Promise<EngineReply<T>> {
    const limit = options.timeoutMs ?? timeoutMs
    return new Promise<EngineReply<T>>((resolve, reject) => {
      const req = request({ ...target, agent, path, method, timeout: limit }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          let parsed: unknown = body
          try {
            parsed = body ? JSON.parse(body) : undefined
          } catch {
            // Plain-text answers stay text.
          }
          resolve({ status: res.statusCode ?? 500, body: parsed as T })
        })
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`Docker did not answer ${path} within ${limit} ms`)))
      req.on('error', reject)
      req.end()
    })
  }

  return {
    async get<T>(path: string) {
      const reply = await send<T>('GET', path)
      if (reply.status >= 300) throw new DockerApiError(reply.status, `Docker answered ${reply.status} for ${path}`)
      return reply.body
    },
    send,
  }
}
