// The hub role on Deno, from source, with the embedded store: the same login, keys, agent session,
// stack orchestration and revocation as on Node, and gzipped JSON.
import { request as httpRequest } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { connectAgent, eventually, metricsSample, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('deno')

let hub: TestHub
let agent: TestAgent | undefined

beforeAll(async () => {
  hub = await startHub({ storage: 'embedded', runtime: 'deno' })
}, 120_000)

afterAll(async () => {
  await agent?.close().catch(() => {})
  await hub?.stop()
})

describe('a hub on Deno', () => {
  it('logs in, takes an agent with a live key, deploys a stack to it, and cuts it off when the key is revoked', async () => {
    const token = await hub.login()
    const key = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'deno-agent' } })).body
    const tools: string[] = []
    agent = await connectAgent(hub, key.key, 'deno-node', async (command) => {
      tools.push(command.tool)
      const args = command.arguments as Record<string, any>
      return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: args.services.map((s: any) => ({ name: s.name, image: s.image, status: 'running', ports: [] })) } }) }
    })
    await agent.client.sendMetrics(metricsSample(agent.agentId, 21))
    await eventually(async () => (await hub.request('GET', '/api/nodes/deno-node', { token })).body?.cpuPercent === 21, 10_000, 'the node and its metrics')
    const deployed = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: 'on-deno', services: { web: { image: 'nginx:1' } } } })
    expect(deployed.status).toBe(200)
    expect(deployed.body).toMatchObject({ status: 'running', node: 'deno-node' })
    expect(tools).toEqual(['deploy_stack'])

    const states: string[] = []
    agent.client.onStateChange((state) => states.push(state))
    expect((await hub.request('DELETE', `/api/keys/${key.id}`, { token })).status).toBe(200)
    await eventually(async () => states.some((s) => s !== 'connected'), 10_000, 'the agent to be cut off')
    expect((await hub.request('POST', '/api/agent/register', { token: key.key, body: { agentId: 'x' } })).status).toBe(401)
  }, 60_000)

  it('gzips JSON API answers on Deno too', async () => {
    const token = await hub.login()
    const url = new URL(`${hub.url}/api/openapi.json`)
    const reply = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }))
      })
      req.on('error', reject)
      req.end()
    })
    expect(reply.encoding).toBe('gzip')
    expect(JSON.parse(gunzipSync(reply.body).toString()).openapi).toBe('3.1.0')
  })
})
