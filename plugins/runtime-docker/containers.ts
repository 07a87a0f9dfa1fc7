// One container's lifecycle as the runtime needs it: confirming that a started container stays up
// (healthy, or alive after a grace period), and stopping or removing one whether or not it is still there.
import type Docker from 'dockerode'
import type { PlannedService } from '../../lib/stack/index.ts'
import { restartPolicyOf, type ServiceSpec } from './container-spec.ts'
import { statusCode } from './docker-errors.ts'

export interface StartCheck {
  ok: boolean
  /** Why it is not running, with the last lines of its log. */
  why?: string
}

export interface ContainerTimings {
  /** How long a service without a healthcheck that others wait on must stay up. */
  startGraceMs: number
  /** Upper bound for waiting on a healthcheck (default: what the healthcheck itself allows). */
  healthTimeoutMs?: number
}

export interface Containers {
  /** Started and stays up: healthy when it has a healthcheck, alive after the grace period when waited on. */
  confirmRunning(id: string, service: PlannedService | ServiceSpec): Promise<StartCheck>
  /** Waits for a one-shot service to exit; ok when its status is 0. */
  waitCompleted(id: string): Promise<StartCheck>
  stopQuietly(id: string): Promise<void>
  removeQuietly(id: string): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function createContainers(docker: Docker, timings: ContainerTimings): Containers {
  async function inspectRunning(id: string, service: PlannedService | ServiceSpec): Promise<StartCheck> {
    const c = await docker.getContainer(id).inspect()
    // A restart count above zero means it already died once, even if the restart policy revived it.
    if (c.State.Running && !c.State.Restarting && c.RestartCount === 0) return confirmed(c, id, service)
    return exited(c, id)
  }

  /** Up as it should be: from now on its restart policy applies (see RESTART_POLICY). */
  async function confirmed(c: Docker.ContainerInspectInfo, id: string, service: PlannedService | ServiceSpec): Promise<StartCheck> {
    const policy = restartPolicyOf(service)
    if (c.HostConfig.RestartPolicy?.Name !== policy.Name) await docker.getContainer(id).update({ RestartPolicy: policy })
    return { ok: true }
  }

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

  async function waitHealthy(id: string, service: PlannedService | ServiceSpec): Promise<StartCheck> {
    const hc = service.healthcheck!
    const limit = timings.healthTimeoutMs ?? hc.startPeriodMs + (hc.intervalMs + hc.timeoutMs) * (hc.retries + 1) + 1000
    const deadline = Date.now() + limit
    for (;;) {
      const c = await docker.getContainer(id).inspect()
      if (!c.State.Running) return exited(c, id)
      const health = c.State.Health?.Status
      if (health === 'healthy') return confirmed(c, id, service)
      if (health === 'unhealthy') return { ok: false, why: 'its healthcheck failed' }
      if (Date.now() > deadline) return { ok: false, why: `not healthy after ${Math.round(limit / 1000)} s` }
      await sleep(Math.min(200, hc.intervalMs))
    }
  }

  return {
    async confirmRunning(id, service) {
      if (service.healthcheck && service.healthcheck.test[0] !== 'NONE') return waitHealthy(id, service)
      if (service.dependents.length > 0 && timings.startGraceMs > 0) await sleep(timings.startGraceMs)
      return inspectRunning(id, service)
    },

    async waitCompleted(id) {
      const result = (await docker.getContainer(id).wait()) as { StatusCode?: number }
      if (result.StatusCode === 0) return { ok: true }
      return { ok: false, why: `exited with status ${result.StatusCode}${await logTail(id)}` }
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
