// The agent's Docker event watcher against the real engine: a container that keeps crashing under a
// restart policy is seen starting and dying with its exit code, and is reported once as a restart loop.
import type Docker from 'dockerode'
import { afterAll, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../lib/agent-session/protocol.ts'
import { watchDockerEvents } from '../../plugins/agent-events/docker-events.ts'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { eventually } from '../support/fleet.ts'
import { requireTool } from '../support/require.ts'

requireTool('docker')
let container: Docker.Container | undefined
const others: Docker.Container[] = []

afterAll(async () => {
  await container?.remove({ force: true }).catch(() => {})
  for (const c of others) await c.remove({ force: true }).catch(() => {})
})

describe('docker events on the agent', () => {
  it('reports starts, exits with their code, and one restart loop for a crashing container', async () => {
    const docker = await connectDocker()
    const name = uniqueName('crashloop')
    const seen: AgentEvent[] = []
    const watcher = watchDockerEvents({ restartLoopCount: 2, restartLoopWindowMs: 60_000, onEvent: (e) => seen.push(e) })
    try {
      await new Promise((r) => setTimeout(r, 500))
      container = await docker.createContainer({
        Image: 'thresh-test/busybox:1',
        name,
        Cmd: ['sh', '-c', 'sleep 0.2; exit 3'],
        Labels: { 'thresh.stack': 'crashy', 'thresh.service': 'worker' },
        // on-failure with a cap instead of "always": the loop then ends by itself. Turning "always"
        // off with an update races Docker's own restarts (runc: "container not running").
        HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 } },
      })
      await container.start()
      const loop = await eventually('a restart loop', () => seen.find((e) => e.type === 'container_restart_loop' && e.container === name), 60_000)
      expect(loop).toMatchObject({ stack: 'crashy', service: 'worker', windowSeconds: 60 })
      expect(loop.restarts).toBeGreaterThan(2)
      const died = seen.find((e) => e.type === 'container_die' && e.container === name)
      expect(died).toMatchObject({ exitCode: 3, stack: 'crashy', image: 'thresh-test/busybox:1' })
      const crashing = container
      await eventually('the restarts to end', async () => {
        const state = (await crashing.inspect()).State
        return state.Status === 'exited' && !state.Restarting
      }, 60_000)
      await new Promise((r) => setTimeout(r, 2000))
      expect(seen.filter((e) => e.type === 'container_restart_loop' && e.container === name)).toHaveLength(1)
    } finally {
      watcher.stop()
    }
  }, 90_000)

  it('marks an exit someone asked for (a stop, a removal) as requested, and leaves a crash or a kill from outside unmarked, each with its exit code', async () => {
    const docker = await connectDocker()
    const seen: AgentEvent[] = []
    const watcher = watchDockerEvents({ restartLoopCount: 5, restartLoopWindowMs: 60_000, onEvent: (e) => seen.push(e) })
    try {
      const run = async (label: string, cmd: string[]) => {
        const c = await docker.createContainer({ Image: 'thresh-test/busybox:1', name: uniqueName(label), Cmd: cmd })
        others.push(c)
        await c.start()
        return { c, name: (await c.inspect()).Name.replace(/^\//, '') }
      }
      const stopped = await run('asked-stop', ['sleep', '600'])
      const removed = await run('asked-remove', ['sleep', '600'])
      const killed = await run('killed', ['sleep', '600'])
      const crashed = await run('crashed', ['sh', '-c', 'sleep 0.5; exit 3'])
      // What thresh does for stack stop/update (POST /containers/{id}/stop) and destroy (DELETE ?force=true).
      await stopped.c.stop({ t: 1 })
      await removed.c.remove({ force: true })
      await killed.c.kill()
      const dieOf = (name: string) => seen.find((e) => e.type === 'container_die' && e.container === name)
      for (const { name } of [stopped, removed, killed, crashed]) await eventually(`the exit of ${name}`, () => dieOf(name), 30_000)
      // The stopped container ignored SIGTERM and was killed after the timeout: 137 like the killed one, yet asked for.
      expect(dieOf(stopped.name)).toMatchObject({ exitCode: 137, requested: true })
      expect(dieOf(removed.name)).toMatchObject({ requested: true })
      expect(dieOf(killed.name)).toMatchObject({ exitCode: 137 })
      expect(dieOf(killed.name)!.requested).toBeUndefined()
      expect(dieOf(crashed.name)).toMatchObject({ exitCode: 3 })
      expect(dieOf(crashed.name)!.requested).toBeUndefined()
    } finally {
      watcher.stop()
    }
  }, 90_000)
})
