// `thresh stack up FILE --hub` through a separate mid-tier: the hub picks the chosen node, the
// command crosses hub -> mid-tier -> agent, and the containers run on the real Docker engine; update,
// stop and destroy through the hub act on the node the same way.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'
import { spawnThresh, tempHome } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { createHub, createMidtier, startAgent, type HubProcess, type MidtierProcess, type RunningAgent } from './support.ts'

requireTool('docker')
let docker: Docker
let hub: HubProcess
let mid: MidtierProcess
let token: string
const agents: RunningAgent[] = []
const stack = uniqueName('e2emid')
const cliHome = tempHome('thresh-e2e-cli-')

async function cli(...args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = spawnThresh('node', [...args, '--hub', hub.url], { THRESH_HOME: cliHome, THRESH_CLI_TOKEN: token })
  const code = await proc.exited
  return { code, output: proc.output() }
}

beforeAll(async () => {
  docker = await connectDocker()
  hub = await createHub()
  token = await hub.login()
  const liveKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'e2e-stack' } })).body.key
  const midKey = (await hub.request('POST', '/api/keys', { token, body: { type: 'midtier', name: 'e2e-stack-mid' } })).body.key
  mid = await createMidtier(hub.url, midKey)
  const config = { midtierUrl: mid.url, apiKey: liveKey, metricsInterval: '1s', reconnectDelay: '300ms', pluginOptions: { 'runtime-docker': { proxy: false } } }
  agents.push(...(await Promise.all([startAgent({ ...config, nodeName: `${stack}-a` }), startAgent({ ...config, nodeName: `${stack}-b` })])))
  await Promise.all(agents.map((a) => a.until('connected')))
}, 120_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.proc.stop('SIGKILL')))
  await mid?.kill()
  await hub?.kill()
  if (docker) await createDockerRuntime({ docker, proxy: false }).destroy(stack).catch(() => {})
})

describe('stacks through a mid-tier', () => {
  it('deploys to the chosen node, updates, stops and destroys it there, on Docker', async () => {
    const port = await freePort()
    const file = join(cliHome, 'stack.json')
    writeFileSync(file, JSON.stringify({ name: stack, services: { web: { image: 'thresh-test/busybox:1', ports: [`${port}:8080`], env: { GREETING: 'via-midtier' } } } }))
    const target = `${stack}-b`

    const up = await cli('stack', 'up', file, '--node', target, '--json')
    expect(up.code, up.output).toBe(0)
    const deployed = JSON.parse(up.output.slice(up.output.indexOf('{')))
    expect(deployed).toMatchObject({ name: stack, status: 'running', node: target })
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`, 15_000)).toContain('GREETING=via-midtier')
    expect(await mid.metric('midtier_commands_routed_total')).toBeGreaterThanOrEqual(1)

    const updated = await cli('stack', 'update', stack, '--service', 'web', '--image', 'thresh-test/busybox:2')
    expect(updated.code, updated.output).toBe(0)
    const [container] = await docker.listContainers({ filters: JSON.stringify({ label: [`thresh.stack=${stack}`] }) })
    expect(container?.Image).toBe('thresh-test/busybox:2')

    const stopped = await cli('stack', 'stop', stack)
    expect(stopped.code, stopped.output).toBe(0)
    expect(await docker.listContainers({ filters: JSON.stringify({ label: [`thresh.stack=${stack}`] }) })).toHaveLength(0)

    const destroyed = await cli('stack', 'destroy', stack, '--yes')
    expect(destroyed.code, destroyed.output).toBe(0)
    expect(await labelledObjects(docker, stack)).toEqual([])
  })
})
