// `thresh stack up FILE --hub` through a separate mid-tier: the hub picks the chosen node, the
// command crosses hub -> mid-tier -> agent, and the containers run on the real Docker engine; update,
// stop and destroy through the hub act on the node the same way.
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { requireTool } from '../support/require.ts'
import { createHub, createMidtier, deployFlowThroughHub, removeStackObjects, startAgent, type HubProcess, type MidtierProcess, type RunningAgent } from './support.ts'

requireTool('docker')
let docker: Docker
let hub: HubProcess
let mid: MidtierProcess
let token: string
const agents: RunningAgent[] = []
const stack = uniqueName('e2emid')

beforeAll(async () => {
  docker = await connectDocker()
  hub = await createHub()
  token = await hub.login()
  const liveKey = (await hub.createKey(token, 'agent', 'e2e-stack')).key
  const midKey = (await hub.createKey(token, 'midtier', 'e2e-stack-mid')).key
  mid = await createMidtier(hub.url, midKey)
  const config = { midtierUrl: mid.url, apiKey: liveKey, metricsInterval: '1s', reconnectDelay: '300ms', pluginOptions: { 'runtime-docker': { proxy: false } } }
  agents.push(...(await Promise.all([startAgent({ ...config, nodeName: `${stack}-a` }), startAgent({ ...config, nodeName: `${stack}-b` })])))
  await Promise.all(agents.map((a) => a.until('connected')))
}, 120_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.proc.stop('SIGKILL')))
  await mid?.kill()
  await hub?.kill()
  if (docker) await removeStackObjects(docker, stack)
})

describe('stacks through a mid-tier', () => {
  it('deploys to the chosen node, updates, stops and destroys it there, on Docker', async () => {
    await deployFlowThroughHub({ hub, token, docker, stack, node: `${stack}-b` })
    // Only the chosen node ran anything, and every command crossed the mid-tier.
    expect((await agents[1]!.status()).commandsExecuted).toBeGreaterThanOrEqual(4)
    expect((await agents[0]!.status()).commandsExecuted).toBe(0)
    expect(await mid.metric('midtier_commands_routed_total')).toBeGreaterThanOrEqual(4)
  })
})
