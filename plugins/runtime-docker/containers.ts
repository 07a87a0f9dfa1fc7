// One container's lifecycle as the runtime needs it: confirming that a started container is up (healthy
// when it has a healthcheck, else alive and, with a TCP port, accepting connections) from Docker's events
// instead of a fixed wait, and stopping or removing one whether or not it is still there.
import { connect } from 'node:net'
import type Docker from 'dockerode'
import { routedPort, type PlannedService } from '../../lib/stack/index.ts'
import { restartPolicyOf, type ServiceSpec } from './container-spec.ts'
import { statusCode } from './docker-errors.ts'
import type { StartWatch } from './start-watch.ts'

export interface StartCheck {
  ok: boolean
  /** Why it is not running, with the last lines of its log. */
  why?: string
}

export interface ContainerTimings {
  /** Upper bound for waiting on a healthcheck (default: what the healthcheck itself allows). */
  healthTimeoutMs?: number
  /** How long a started service's first TCP port may take to accept connections (default 10 s). */
  portTimeoutMs?: number
}

export interface StartOptions {
  /** Wait until the first TCP port accepts connections from this network's address (readiness without a healthcheck). */
  probeNetwork?: string
  /** A port that never opens is a failure rather than accepted (blue/green: the proxy must reach it). */
  requirePort?: boolean
}

export interface Containers {
  /** Started and up: healthy when it has a healthcheck, else alive (and its port open when asked to probe). */
  confirmRunning(id: string, service: PlannedService | ServiceSpec, watch: StartWatch, options?: StartOptions): Promise<StartCheck>
  /** Waits for a one-shot service to exit; ok when its status is 0. */
  waitCompleted(id: string): Promise<StartCheck>
  /** Still up now (Docker's word, not the event stream's); switches on the service's restart policy when it is. */
  settle(id: string, service?: Pick<ServiceSpec, 'restart'>): Promise<StartCheck>
  stopQuietly(id: string): Promise<void>
  removeQuietly(id: string): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** True when something accepts a TCP connection at host:port; undefined when the address cannot be reached at all. */
function tcpOpen(host: string, port: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 500 })
    const done = (value: boolean | undefined) => {
      socket.destroy()
      resolve(value)
    }
    socket.once('connect', () => done(true))
    socket.once('timeout', () => done(undefined))
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? false : undefined))
  })
}

export function createContainers(docker: Docker, timings: ContainerTimings = {}): Containers {
  async function exited(c: Docker.ContainerInspectInfo, id: string): Promise<StartCheck> {
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

  async function waitHealthy(id: string, service: PlannedService | ServiceSpec, watch: StartWatch): Promise<StartCheck> {
    const hc = service.healthcheck!
    const limit = timings.healthTimeoutMs ?? hc.startPeriodMs + (hc.intervalMs + hc.timeoutMs) * (hc.retries + 1) + 1000
    const outcome = await watch.health(id, limit)
    if (outcome === 'timedOut') return { ok: false, why: `not healthy after ${Math.round(limit / 1000)} s` }
    if (outcome.ok) return { ok: true }
    if (outcome.died) return exited(await docker.getContainer(id).inspect(), id)
    return { ok: false, why: 'its healthcheck failed' }
  }

  async function waitPort(id: string, service: PlannedService | ServiceSpec, watch: StartWatch, options: StartOptions): Promise<StartCheck> {
    const port = service.ports.find((p) => p.protocol === 'tcp')?.container ?? routedPort({ ports: [], expose: service.expose })
    if (port === undefined || !options.probeNetwork) return { ok: true }
    const c = await docker.getContainer(id).inspect()
    if (!c.State.Running) return exited(c, id)
    const address = c.NetworkSettings.Networks?.[options.probeNetwork]?.IPAddress
    if (!address) return { ok: true }
    const limit = timings.portTimeoutMs ?? 10_000
    const deadline = Date.now() + limit
    for (;;) {
      if (watch.died(id) !== undefined) return exited(await docker.getContainer(id).inspect(), id)
      const open = await tcpOpen(address, port)
      // This host cannot reach container addresses (a remote engine): running is all that can be known.
      if (open === undefined && !options.requirePort) return { ok: true }
      if (open) return { ok: true }
      if (Date.now() > deadline) {
        return options.requirePort ? { ok: false, why: `port ${port} did not accept connections within ${Math.round(limit / 1000)} s` } : { ok: true }
      }
      await sleep(25)
    }
  }

  return {
    async confirmRunning(id, service, watch, options = {}) {
      if (watch.died(id) !== undefined) return exited(await docker.getContainer(id).inspect(), id)
      // `test: ["NONE"]` (healthcheck disable) turns the image's healthcheck off: nothing to wait for.
      if (service.healthcheck && service.healthcheck.test[0] !== 'NONE') return waitHealthy(id, service, watch)
      return waitPort(id, service, watch, options)
    },

    async waitCompleted(id) {
      const result = (await docker.getContainer(id).wait()) as { StatusCode?: number }
      if (result.StatusCode === 0) return { ok: true }
      return { ok: false, why: `exited with status ${result.StatusCode}${await logTail(id)}` }
    },

    async settle(id, service = {}) {
      const c = await docker.getContainer(id).inspect()
      // A restart count above zero means it already died once, even if a restart policy revived it.
      if (!c.State.Running || c.State.Restarting || c.RestartCount > 0) return exited(c, id)
      // Up as it should be: from now on its restart policy applies (`restart:`, else RESTART_POLICY).
      const policy = restartPolicyOf(service)
      if (c.HostConfig.RestartPolicy?.Name !== policy.Name || (policy.MaximumRetryCount ?? 0) !== (c.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0)) {
        await docker.getContainer(id).update({ RestartPolicy: policy })
      }
      return { ok: true }
    },

    async stopQuietly(id) {
      try {
        await docker.getContainer(id).stop({ t: 10 })
      } catch (error) {
        if (statusCode(error) !== 304 && statusCode(error) !== 404) throw error
      }
    },

    async removeQuietly(id) {
      try {
        await docker.getContainer(id).remove({ force: true, v: false })
      } catch (error) {
        if (statusCode(error) !== 404) throw error
      }
    },
  }
}
