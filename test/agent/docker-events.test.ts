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

afterAll(async () => {
  await container?.remove({ force: true }).catch(() => {})
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
        HostConfig: { RestartPolicy: { Name: 'always' } },
      })
      await container.start()
      const loop = await eventually('a restart loop', () => seen.find((e) => e.type === 'container_restart_loop' && e.container === name), 60_000)
      expect(loop).toMatchObject({ stack: 'crashy', service: 'worker', windowSeconds: 60 })
      expect(loop.restarts).toBeGreaterThan(2)
      const died = seen.find((e) => e.type === 'container_die' && e.container === name)
      expect(died).toMatchObject({ exitCode: 3, stack: 'crashy', image: 'thresh-test/busybox:1' })
      await container.update({ RestartPolicy: { Name: 'no' } })
      await new Promise((r) => setTimeout(r, 2000))
      expect(seen.filter((e) => e.type === 'container_restart_loop' && e.container === name)).toHaveLength(1)
    } finally {
      watcher.stop()
    }
  }, 90_000)
})
