// The deploy flow over the transports other than WebSockets: an agent forced onto REST polling, and an
// agent under `transport auto` behind a proxy that refuses every WebSocket upgrade (as some corporate
// proxies do) while the mid-tier still offers WebSockets. Both reach the hub through a real mid-tier,
// and `thresh stack up --hub --node X`, update, stop and destroy act on the real Docker engine.
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import {
  createHub,
  createMidtier,
  deployFlowThroughHub,
  nodeWithMetrics,
  removeStackObjects,
  startAgent,
  type HubProcess,
  type MidtierProcess,
  type RunningAgent,
} from '../support/fleet.ts'
import { requireTool } from '../support/require.ts'

requireTool('docker')
let docker: Docker
let hub: HubProcess
let mid: MidtierProcess
let token: string
let liveKey: string
let proxy: Server & { refusedUpgrades: number; streamed: string[]; url: string }
const agents: RunningAgent[] = []
const stacks: string[] = []
const prefix = uniqueName('e2etr')

/** Forwards plain HTTP to `target` (streaming, so SSE and long polls pass) and refuses WebSocket upgrades with 403. */
async function wsBlockingProxy(target: string): Promise<typeof proxy> {
  const upstream = new URL(target)
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const accept = String(req.headers.accept ?? '')
    if (req.method === 'GET' && /\/agenthub\b/.test(req.url ?? '') && !req.url!.includes('negotiate')) {
      proxy.streamed.push(accept.includes('text/event-stream') ? 'ServerSentEvents' : 'LongPolling')
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  }) as typeof proxy
  server.on('connection', (socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))))
  server.on('upgrade', (_req, socket: Socket) => {
    server.refusedUpgrades++
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  })
  server.on('close', () => sockets.forEach((s) => s.destroy()))
  server.refusedUpgrades = 0
  server.streamed = []
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  // Close waits for open streams otherwise; they belong to agents that are gone by then.
  const close = server.close.bind(server)
  server.close = ((cb?: (error?: Error) => void) => (sockets.forEach((s) => s.destroy()), close(cb))) as typeof server.close
  return server
}

beforeAll(async () => {
  docker = await connectDocker()
  hub = await createHub()
  token = await hub.login()
  liveKey = (await hub.createKey(token, 'agent', 'e2e-transports')).key
  mid = await createMidtier(hub.url, (await hub.createKey(token, 'midtier', 'e2e-transports-mid')).key)
  proxy = await wsBlockingProxy(mid.url)
}, 120_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.proc.stop('SIGKILL')))
  if (proxy) await new Promise((resolve) => proxy.close(resolve))
  await mid?.kill()
  await hub?.kill()
  if (docker) for (const stack of stacks) await removeStackObjects(docker, stack)
})

const agentConfig = (nodeName: string, extra: Record<string, unknown>) => ({
  apiKey: liveKey,
  nodeName,
  metricsInterval: '1s',
  reconnectDelay: '300ms',
  pluginOptions: { 'runtime-docker': { proxy: false } },
  ...extra,
})

describe('the deploy flow on other transports', () => {
  it('works end to end for an agent on transport rest: node with metrics, stack up, update, stop, destroy on Docker', async () => {
    const node = `${prefix}-rest`
    const agent = await startAgent(agentConfig(node, { midtierUrl: mid.url, transport: 'rest' }))
    agents.push(agent)
    const { agentId, transport } = await agent.until('connected', undefined, 30_000)
    expect(transport).toBe('rest')
    expect((await nodeWithMetrics(hub, token, agentId)).connectionTier).toMatch(/^midtier-/)

    const stack = `${prefix}-r`
    stacks.push(stack)
    await deployFlowThroughHub({ hub, token, docker, stack, node })
    expect((await agent.status()).commandsExecuted).toBeGreaterThanOrEqual(4)
  }, 90_000)

  it('falls back from refused WebSockets under transport auto and still completes the flow', async () => {
    const node = `${prefix}-auto`
    const agent = await startAgent(agentConfig(node, { midtierUrl: proxy.url }))
    agents.push(agent)
    const { agentId, transport } = await agent.until('connected', undefined, 30_000)
    // The upgrade was tried and refused; the session then runs over SSE or long polling, not REST.
    expect(proxy.refusedUpgrades).toBeGreaterThanOrEqual(1)
    expect(transport).toBe('signalr')
    expect(proxy.streamed.length).toBeGreaterThan(0)
    expect((await nodeWithMetrics(hub, token, agentId)).status).toBe('online')

    const stack = `${prefix}-a`
    stacks.push(stack)
    await deployFlowThroughHub({ hub, token, docker, stack, node })
    expect((await agent.status()).state).toBe('connected')
  }, 90_000)
})
