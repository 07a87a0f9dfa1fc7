// Atomic stack updates through the hub on the real Docker engine: a redeploy that fails is undone on
// the node, and the hub (API and the CLI reading it) shows the stack running its previous definition
// with "rolled back: <reason>"; a first deploy with ?rollback=true leaves nothing on the node or hub.
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { formatRemoteInfo, formatRemoteList } from '../../cli/commands/stack-remote.ts'
import { createHubClient } from '../../cli/hub-client.ts'
import { connectDocker, freePort, httpText, labelledObjects, uniqueName } from '../support/docker.ts'
import { connectDockerNode, startHub, type TestAgent, type TestHub } from './support.ts'

let hub: TestHub
let token: string
let agent: TestAgent
let docker: Docker
let runtime: ReturnType<typeof createDockerRuntime>
let account: string
const stacks: string[] = []

beforeAll(async () => {
  docker = await connectDocker()
  runtime = createDockerRuntime({ docker, proxy: false })
  hub = await startHub({ storage: 'memory', config: { commandTimeout: '60s', offlineAfter: '10m' } })
  token = await hub.login()
  const node = await connectDockerNode(hub, token, uniqueName('rollback-node'), runtime)
  agent = node.agent
  account = node.account
}, 120_000)

afterAll(async () => {
  for (const name of stacks) await runtime?.destroy(name, { account }).catch(() => {})
  await agent?.close()
  await hub?.stop()
})

describe('rollback through the hub', () => {
  it('undoes a failed redeploy: the stack reads running with "rolled back: <reason>" and its previous definition', async () => {
    const name = uniqueName('hubrbk')
    stacks.push(name)
    const port = await freePort()
    const definition = (level: string, fail: string) => ({
      name,
      targetNode: agent.hostname,
      services: [
        { name: 'db', image: 'thresh-test/busybox:1', env: { LEVEL: level } },
        { name: 'api', image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${port}:8080`], dependsOn: ['db'], env: { LEVEL: level, FAIL: fail } },
      ],
    })
    expect((await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: definition('one', '0') })).status).toBe(200)

    const failed = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: definition('two', '1') })
    expect(failed.status).toBe(409)
    expect(failed.body.message).toMatch(/^rolled back: api: exited with status 3/)
    const stack = (await hub.request('GET', `/api/stacks/${name}`, { token })).body
    expect(stack.status).toBe('running')
    expect(stack.errorMessage).toMatch(/^rolled back: api: exited with status 3/)
    expect(stack.services.map((s: { status: string }) => s.status)).toEqual(['running', 'running'])
    expect(stack.services.find((s: { name: string }) => s.name === 'api').env).toMatchObject({ LEVEL: 'one', FAIL: '0' })
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`)).toContain('LEVEL=one')

    const client = createHubClient({}, { target: { url: hub.url, token, tokenSource: 'THRESH_CLI_TOKEN', tlsVerify: false, fingerprint: undefined, credentials: undefined } })
    expect(await formatRemoteInfo(client, stack)).toMatch(/Last deploy: rolled back: api: exited with status 3/)
    const listed = (await hub.request('GET', '/api/stacks', { token })).body.stacks
    expect(await formatRemoteList(client, listed)).toMatch(new RegExp(`${name}\\s+running \\(rolled back\\)`))

    const kept = await hub.request('POST', '/api/stacks/deploy?wait=true&rollback=false', { token, body: definition('two', '1') })
    expect(kept.status).toBe(409)
    const after = (await hub.request('GET', `/api/stacks/${name}`, { token })).body
    expect(after.status).toBe('error')
    expect(after.services.find((s: { name: string }) => s.name === 'db').status).toBe('running')
  })

  it('leaves nothing of a failed first deploy with ?rollback=true, on the node or on the hub', async () => {
    const name = uniqueName('hubrbf')
    stacks.push(name)
    const body = {
      name,
      targetNode: agent.hostname,
      services: [
        { name: 'db', image: 'thresh-test/busybox:1', volumes: ['data:/data'] },
        { name: 'api', image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${await freePort()}:8080`], dependsOn: ['db'], env: { FAIL: '1' } },
      ],
    }
    const failed = await hub.request('POST', '/api/stacks/deploy?wait=true&rollback=true', { token, body })
    expect(failed.status).toBe(409)
    expect(failed.body.message).toMatch(/^rolled back: api: exited with status 3/)
    expect(await labelledObjects(docker, name)).toEqual([])
    expect((await hub.request('GET', `/api/stacks/${name}`, { token })).status).toBe(404)
  })
})
