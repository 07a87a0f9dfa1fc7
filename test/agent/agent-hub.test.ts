// The agent against the real hub (its embedded mid-tier) as in the seed's home lab: a hub process on
// HTTPS with its self-signed certificate and memory storage, an agent key from the API, an agent with
// tls-verify false; the node, its live metrics and a stack deployed through the hub onto real Docker.
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, freePort, httpText, uniqueName } from '../support/docker.ts'
import { tlsFetch } from '../../lib/tls-fetch.ts'
import { spawnThresh, tempHome, type ThreshProcess } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { startAgent, waitFor, type RunningAgent } from './agent-helpers.ts'

requireTool('docker')
const PASSWORD = 'agent-hub-test-password-1'
const insecureFetch = tlsFetch({ rejectUnauthorized: false })
let docker: Docker
let hub: ThreshProcess
let hubUrl: string
let token: string
let agentKey: string
let keyId: string
let account: string
let agent: RunningAgent
const stacks: string[] = []

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await insecureFetch(hubUrl + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json().catch(() => ({}))) as T }
}

beforeAll(async () => {
  docker = await connectDocker()
  const port = await freePort()
  hubUrl = `https://127.0.0.1:${port}`
  hub = spawnThresh('node', ['run', '--role', 'hub', '--host', '127.0.0.1', '--port', String(port), '--storage', 'memory'], {
    THRESH_HOME: tempHome('thresh-agent-hub-'),
    THRESH_ADMIN_PASSWORD: PASSWORD,
  })
  await waitFor(
    () => insecureFetch(`${hubUrl}/health`).then((r) => r.status, () => 0),
    (status) => status === 200 || hub.child.exitCode !== null,
    'the hub to serve HTTPS',
    60_000,
  )
  const login = await insecureFetch(`${hubUrl}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })
  token = ((await login.json()) as { accessToken: string }).accessToken
  const key = await api<{ key: string; id: string }>('POST', '/api/keys', { type: 'agent', name: 'test-agent' })
  keyId = key.body.id
  expect(key.status).toBeLessThan(300)
  agentKey = key.body.key
  account = /^thresh_live_([^_]+)_/.exec(agentKey)![1]!
  agent = await startAgent({ midtierUrl: hubUrl, apiKey: agentKey, tlsVerify: false, metricsInterval: '1s', nodeName: uniqueName('node') })
  await agent.until('connected')
}, 90_000)

afterAll(async () => {
  await agent?.stop()
  await hub?.stop()
  const runtime = createDockerRuntime({ docker, proxy: false, account })
  for (const name of stacks) await runtime.destroy(name).catch(() => {})
})

describe('an agent connected to the hub', () => {
  it('appears as a node with live metrics and takes a stack deployed through the hub', async () => {
    const { agentId } = await agent.status()
    const nodes = await waitFor(
      async () => (await api<{ nodes: Array<Record<string, unknown>> }>('GET', '/api/nodes')).body.nodes ?? [],
      (list) => list.some((n) => n.id === agentId && n.status === 'online' && typeof n.cpuPercent === 'number'),
      'the node in GET /api/nodes',
    )
    const node = nodes.find((n) => n.id === agentId)!
    expect(node).toMatchObject({ containerRuntime: expect.stringMatching(/^docker/), agentVersion: '0.1.0' })
    expect(node.diskTotalGb as number).toBeGreaterThan(0)

    const name = uniqueName('hubst')
    stacks.push(name)
    const port = await freePort()
    const deployed = await api('POST', '/api/stacks/deploy?wait=true', {
      name,
      targetNode: node.hostname,
      services: [{ name: 'web', image: 'thresh-test/busybox:1', ports: [`127.0.0.1:${port}:8080`], env: { FROM: 'hub' } }],
    })
    expect(deployed.status, JSON.stringify(deployed.body)).toBeLessThan(300)
    expect(await httpText(`http://127.0.0.1:${port}/env.txt`, 30_000)).toContain('FROM=hub')
    const stack = await waitFor(async () => (await api<Record<string, unknown>>('GET', `/api/stacks/${name}`)).body, (s) => s.status === 'running', 'the stack running in the hub')
    expect(JSON.stringify(stack)).toContain('running')
    const destroyed = await api('DELETE', `/api/stacks/${name}?wait=true`)
    expect(destroyed.status).toBeLessThan(300)
  }, 90_000)

  it('is disconnected when its key is revoked, and its status says why', async () => {
    expect((await api('DELETE', `/api/keys/${keyId}`)).status).toBeLessThan(300)
    const refused = await agent.until('auth_error', undefined, 70_000)
    expect(refused.reason, String(refused.reason)).toMatch(/^The server refused the agent key \((401|403)\): .*revoked/i)
  }, 80_000)
})
