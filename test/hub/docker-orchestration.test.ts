// Stack orchestration end to end on the real Docker engine: a hub process, and an agent session
// speaking the real protocol whose commands run the real agent tools on runtime-docker. Deploy,
// rolling update, stop, start and destroy through the hub's API act on real containers.
import { createServer, type Server } from 'node:net'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
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
  const node = await connectDockerNode(hub, token, uniqueName('docker-node'), runtime)
  agent = node.agent
  account = node.account
}, 120_000)

afterAll(async () => {
  for (const name of stacks) await runtime?.destroy(name, { account }).catch(() => {})
  await agent?.close()
  await hub?.stop()
})

describe('stacks through the hub on a real Docker node', () => {
  it('deploys with resolved env, updates one service, stops and starts with volumes kept, and destroys everything', async () => {
    const name = uniqueName('hubstack')
    stacks.push(name)
    const [dbPort, apiPort] = [await freePort(), await freePort()]
    const definition = {
      name,
      targetNode: agent.hostname,
      services: [
        { name: 'db', image: 'docker:thresh-test/busybox:1', ports: [`127.0.0.1:${dbPort}:8080`], volumes: ['data:/data'] },
        { name: 'api', image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${apiPort}:8080`], dependsOn: ['db'], env: { DB_URL: 'http://${db.host}:${db.port}/x' } },
      ],
    }
    const deployed = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: definition })
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200)
    expect(deployed.body).toMatchObject({ name, status: 'running', node: agent.hostname })
    expect(deployed.body.services.map((s: { status: string }) => s.status)).toEqual(['running', 'running'])
    expect(await httpText(`http://127.0.0.1:${apiPort}/env.txt`)).toContain('DB_URL=http://db:8080/x')
    await httpText(`http://127.0.0.1:${dbPort}/cgi-bin/write?kept`)
    const labelled = await labelledObjects(docker, name)
    expect(labelled.filter((o) => o.startsWith('container ')).map((o) => o.replace(/^container \//, '')).sort()).toEqual([`${account}.${name}_api`, `${account}.${name}_db`])

    const updated = await hub.request('PATCH', `/api/stacks/${name}/services/api?wait=true`, { token, body: { image: 'thresh-test/busybox:2' } })
    expect(updated.status, JSON.stringify(updated.body)).toBe(200)
    expect(updated.body.services.find((s: { name: string }) => s.name === 'api')).toMatchObject({ image: 'thresh-test/busybox:2', status: 'running' })
    expect(updated.body.services.find((s: { name: string }) => s.name === 'db')).toMatchObject({ image: 'thresh-test/busybox:1' })

    const stopped = await hub.request('POST', `/api/stacks/${name}/stop?wait=true`, { token })
    expect(stopped.body.status).toBe('stopped')
    const started = await hub.request('POST', `/api/stacks/${name}/start?wait=true`, { token })
    expect(started.body.status).toBe('running')
    expect(await httpText(`http://127.0.0.1:${dbPort}/cgi-bin/read`)).toContain('kept')

    const destroyed = await hub.request('DELETE', `/api/stacks/${name}?wait=true`, { token })
    expect(destroyed.status).toBe(200)
    expect(await labelledObjects(docker, name)).toEqual([])
    expect((await hub.request('GET', `/api/stacks/${name}`, { token })).status).toBe(404)
  }, 120_000)

  it('reports a host port already used on the node as a failed deploy, and starts nothing', async () => {
    const name = uniqueName('hubport')
    stacks.push(name)
    const port = await freePort()
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const reply = await hub.request('POST', '/api/stacks/deploy?wait=true', {
        token,
        body: { name, services: { web: { image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${port}:8080`] } } },
      })
      expect(reply.status).toBe(409)
      expect(reply.body.error).toBe('command_failed')
      expect(reply.body.message).toContain(`Port ${port} is already in use on the target node`)
      expect((await hub.request('GET', `/api/stacks/${name}`, { token })).body.status).toBe('error')
      expect((await labelledObjects(docker, name)).filter((o) => o.startsWith('container '))).toEqual([])
    } finally {
      blocker.close()
    }
  }, 60_000)
})
