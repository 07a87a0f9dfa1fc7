// The fleet on Deno, from source: a hub on Deno with the embedded store and an agent on Deno connected
// to it. The node appears with live metrics, and `thresh stack up --hub --node X`, update, stop and
// destroy run the stack on the real Docker engine through the Deno agent's runtime-docker.
import { readlinkSync } from 'node:fs'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { createHub, deployFlowThroughHub, nodeWithMetrics, removeStackObjects, startAgent, type HubProcess, type RunningAgent } from '../support/fleet.ts'
import { requireTool } from '../support/require.ts'

requireTool('deno')
requireTool('docker')
let docker: Docker
let hub: HubProcess
let agent: RunningAgent | undefined
const stack = uniqueName('e2edeno')
const node = `${stack}-node`

beforeAll(async () => {
  docker = await connectDocker()
  hub = await createHub({ runtime: 'deno' })
}, 120_000)

afterAll(async () => {
  await agent?.proc.stop('SIGKILL')
  await hub?.kill()
  if (docker) await removeStackObjects(docker, stack)
})

describe('hub and agent on Deno', () => {
  it('shows the Deno agent as a node with metrics on the Deno hub, and deploys, updates, stops and destroys a stack on Docker through it', async () => {
    const token = await hub.login()
    const { key } = await hub.createKey(token, 'agent', 'e2e-deno')
    agent = await startAgent(
      { midtierUrl: hub.url, apiKey: key, nodeName: node, metricsInterval: '1s', reconnectDelay: '300ms', pluginOptions: { 'runtime-docker': { proxy: false } } },
      { runtime: 'deno' },
    )
    const { agentId, transport, runtime } = await agent.until('connected', undefined, 60_000)
    expect(transport).toBe('signalr')
    expect(runtime).toMatchObject({ name: 'deno' })
    expect(readlinkSync(`/proc/${hub.proc.child.pid}/exe`)).toMatch(/deno$/)
    const listed = await nodeWithMetrics(hub, token, agentId, 30_000)
    expect(listed).toMatchObject({ containerRuntime: expect.stringMatching(/^docker/) })

    await deployFlowThroughHub({ hub, token, docker, stack, node })
    expect((await agent.status()).commandsExecuted).toBeGreaterThanOrEqual(4)
  }, 120_000)
})
