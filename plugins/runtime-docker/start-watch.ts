// Docker's event stream for one stack while an operation works on it: which containers died (`die`)
// and which became healthy or unhealthy (`health_status`), so start detection needs no fixed wait.
import type Docker from 'dockerode'
import { LABELS } from '../../lib/stack/index.ts'

export type HealthOutcome = { ok: true } | { ok: false; died: boolean }

export interface StartWatch {
  /** The exit code when the container died since the watch began. */
  died(id: string): number | undefined
  /** Calls `listener` when the container dies (at once when it already has). */
  onDie(id: string, listener: (exitCode: number) => void): void
  /** Resolves on the container's first `healthy`/`unhealthy` report or its death, or `timedOut` after `ms`. */
  health(id: string, ms: number): Promise<HealthOutcome | 'timedOut'>
  close(): void
}

interface DockerEvent {
  id?: string
  Action?: string
  Actor?: { Attributes?: Record<string, string> }
}

/** Opens the stream before anything starts, so no event of the operation can be missed. */
export async function watchStack(docker: Docker, account: string, stack: string): Promise<StartWatch> {
  const filters = JSON.stringify({
    type: ['container'],
    event: ['die', 'health_status'],
    label: [`${LABELS.account}=${account}`, `${LABELS.stack}=${stack}`],
  })
  const stream = (await docker.getEvents({ filters })) as NodeJS.ReadableStream & { destroy(): void }
  const dead = new Map<string, number>()
  const healthy = new Map<string, boolean>()
  const waiters = new Map<string, Array<() => void>>()
  const dieListeners = new Map<string, Array<(code: number) => void>>()
  const wake = (id: string) => {
    for (const w of waiters.get(id) ?? []) w()
    waiters.delete(id)
  }

  let buffered = ''
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim()
      buffered = buffered.slice(newline + 1)
      if (!line) continue
      let event: DockerEvent
      try {
        event = JSON.parse(line) as DockerEvent
      } catch {
        continue
      }
      if (!event.id || !event.Action) continue
      if (event.Action === 'die') {
        const code = Number(event.Actor?.Attributes?.exitCode ?? -1)
        dead.set(event.id, code)
        for (const l of dieListeners.get(event.id) ?? []) l(code)
        dieListeners.delete(event.id)
      } else if (event.Action.startsWith('health_status')) {
        const status = event.Action.slice('health_status'.length).replace(/^:\s*/, '')
        if (status === 'healthy' || status === 'unhealthy') healthy.set(event.id, status === 'healthy')
      }
      wake(event.id)
    }
  })
  // A broken stream only loses the early warning: every outcome is still confirmed by inspecting.
  stream.on('error', () => {})

  return {
    died: (id) => dead.get(id),
    onDie(id, listener) {
      const code = dead.get(id)
      if (code !== undefined) return listener(code)
      ;(dieListeners.get(id) ?? dieListeners.set(id, []).get(id)!).push(listener)
    },
    health(id, ms) {
      return new Promise((resolve) => {
        const settle = (): boolean => {
          if (dead.has(id)) return resolve({ ok: false, died: true }), true
          const h = healthy.get(id)
          if (h === undefined) return false
          resolve(h ? { ok: true } : { ok: false, died: false })
          return true
        }
        if (settle()) return
        const timer = setTimeout(() => resolve('timedOut'), ms)
        const retry = () => {
          if (settle()) clearTimeout(timer)
          else (waiters.get(id) ?? waiters.set(id, []).get(id)!).push(retry)
        }
        ;(waiters.get(id) ?? waiters.set(id, []).get(id)!).push(retry)
      })
    },
    close() {
      stream.destroy()
    },
  }
}
