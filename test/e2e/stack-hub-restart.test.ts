// A hub killed while a deploy is in flight: the agent finishes on its own, and once it is back with the
// restarted hub (same THRESH_HOME, embedded storage) the stack settles to what Docker runs (#14).
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { requireTool } from '../support/require.ts'
import { createHub, eventually, removeStackObjects, startAgent, type HubProcess, type RunningAgent } from './support.ts'

requireTool('docker')
let docker: Docker
let hub: HubProcess
let agent: RunningAgent
const stack = uniqueName('e2ekill')

beforeAll(async () => {
  docker = await connectDocker()
  hub = await createHub()
  const token = await hub.login()
  const liveKey = (await hub.createKey(token, 'agent', 'e2e-kill')).key
  agent = await startAgent({ midtierUrl: hub.url, apiKey: liveKey, reconnectDelay: '300ms', nodeName: `${stack}-node`, pluginOptions: { 'runtime-docker': { proxy: false } } })
  await agent.until('connected', undefined, 30_000)
}, 120_000)

afterAll(async () => {
  await agent?.proc.stop('SIGKILL')
  await hub?.kill()
  if (docker) await removeStackObjects(docker, stack)
})

describe('a hub restarted in the middle of a deploy', () => {
  it('settles the stack to running once the agent is back, with its services running', async () => {
    let token = await hub.login()
    // `web` waits for `slow` to be healthy, which takes a few seconds: the deploy is in flight for that long.
    const definition = {
      name: stack,
      services: {
        slow: { image: 'thresh-test/busybox:1', healthcheck: { test: 'true', interval: '6s', timeout: '2s', retries: 1 } },
        web: { image: 'thresh-test/busybox:1', depends_on: ['slow'] },
      },
    }
    const reply = await hub.request('POST', '/api/stacks/deploy', { token, body: definition })
    expect(reply.status, JSON.stringify(reply.body)).toBe(202)
    const labelled = JSON.stringify({ label: [`thresh.stack=${stack}`, 'thresh.service=slow'] })
    await eventually('slow to be started', async () => (await docker.listContainers({ filters: labelled })).length > 0, 30_000)

    await hub.kill()
    await hub.start()
    token = await hub.login()

    const settled = await eventually(
      'the stack to settle',
      async () => {
        const { body } = await hub.request('GET', `/api/stacks/${stack}`, { token })
        return body?.status === 'running' ? body : undefined
      },
      60_000,
      500,
    )
    expect(settled.services.map((s: { name: string; status: string }) => [s.name, s.status]).sort()).toEqual([
      ['slow', 'running'],
      ['web', 'running'],
    ])
  }, 150_000)
})
