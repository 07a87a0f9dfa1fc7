// One agent-session conformance suite for every transport (SignalR over WebSockets, SignalR over
// long polling, REST polling), against the server running in-process on Node and spawned on Deno.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRestPollAgentClient,
  createSignalRAgentClient,
  type AgentTransportClient,
  type MetricsData,
} from '../../lib/agent-session/agent/index.ts'
import { AGENT_KEY, MID_KEY, startAgentSessionServer } from '../fixtures/signalr-agent-server.ts'
import { agentInfo } from '../support/agent-fixtures.ts'

type ServerHandle = { url: string; close(): Promise<void> }

async function spawnDenoServer(): Promise<ServerHandle> {
  const child: ChildProcess = spawn('node_modules/.bin/deno', ['run', '-A', 'test/fixtures/signalr-agent-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Deno fixture did not start within 30 s')), 30_000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the Deno fixture exited with ${code}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve((JSON.parse(line) as { port: number }).port)
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      child.kill('SIGTERM')
    },
  }
}

const servers: Array<[string, () => Promise<ServerHandle>]> = [
  ['Node', startAgentSessionServer],
  ['Deno', spawnDenoServer],
]

type ClientFactory = (url: string, apiKey: string, agentId: string) => AgentTransportClient
const clients: Array<[string, ClientFactory]> = [
  ['SignalR (WebSockets)', (url, apiKey) => createSignalRAgentClient({ url, apiKey, transports: ['WebSockets'], reconnectDelayMs: 50, maxReconnectDelayMs: 200 })],
  ['SignalR (long polling)', (url, apiKey) => createSignalRAgentClient({ url, apiKey, transports: ['LongPolling'], reconnectDelayMs: 50, maxReconnectDelayMs: 200 })],
  ['REST polling', (url, apiKey, agentId) => createRestPollAgentClient({ url, apiKey, agentId, waitSeconds: 1, reconnectDelayMs: 50, maxReconnectDelayMs: 200 })],
]


function metrics(agentId: string, cpuPercent: number): MetricsData {
  return {
    agentId,
    timestamp: new Date().toISOString(),
    cpuPercent,
    cpuPerCore: [cpuPercent, cpuPercent],
    memoryUsedMB: 1000,
    memoryTotalMB: 4000,
    diskUsedGB: 10,
    diskTotalGB: 40,
    disks: [{ mount: '/', usedGB: 10, totalGB: 40 }],
    containersRunning: 1,
    containers: [],
    environmentCount: 0,
    uptimeSeconds: 42,
  }
}

describe.each(servers)('agent sessions with the server on %s', (_runtime, start) => {
  let server: ServerHandle
  beforeAll(async () => {
    server = await start()
  }, 40_000)
  afterAll(async () => {
    await server?.close()
  })

  const events = async (agentId: string) =>
    ((await (await fetch(`${server.url}/test/events`)).json()) as Array<{ type: string; agentId: string; [k: string]: unknown }>).filter(
      (e) => e.agentId === agentId,
    )
  const command = async (agentId: string, commandId: string, tool = 'get_version') =>
    (await (
      await fetch(`${server.url}/test/agents/${agentId}/commands`, {
        method: 'POST',
        body: JSON.stringify({ commandId, tool, arguments: { n: 1 } }),
        headers: { 'Content-Type': 'application/json' },
      })
    ).json()) as { success: boolean; output: string; error: string; commandId: string; agentId: string }

  describe.each(clients)('over %s', (transport, create) => {
    const newAgentId = () => `agent-${_runtime}-${transport.replace(/\W+/g, '')}-${Math.random().toString(36).slice(2, 8)}`

    it('registers on connect, then delivers metrics and stack status updates', async () => {
      const agentId = newAgentId()
      const client = create(server.url, AGENT_KEY, agentId)
      await client.connect(agentInfo(agentId))
      expect(client.state).toBe('connected')
      await client.sendMetrics(metrics(agentId, 12.5))
      await client.sendStatusUpdate({ stackId: 'web', serviceName: 'db', status: 'running', errorMessage: null })
      await expect.poll(async () => (await events(agentId)).map((e) => e.type)).toEqual(['register', 'metrics', 'statusUpdate'])
      const [registered, metric, status] = await events(agentId)
      expect(registered).toMatchObject({ hostname: `host-${agentId}`, accountId: 'acct1', transport: transport.startsWith('SignalR') ? 'signalr' : 'rest' })
      expect(metric).toMatchObject({ cpuPercent: 12.5 })
      expect(status).toMatchObject({ stackId: 'web', serviceName: 'db', status: 'running' })
      await client.close()
    })

    it('runs a command from the server and returns its result', async () => {
      const agentId = newAgentId()
      const client = create(server.url, AGENT_KEY, agentId)
      client.onCommand((cmd) => ({ success: true, output: `ran ${cmd.tool} with ${JSON.stringify(cmd.arguments)}` }))
      await client.connect(agentInfo(agentId))
      const result = await command(agentId, 'cmd-1')
      expect(result).toMatchObject({ success: true, commandId: 'cmd-1', agentId, output: 'ran get_version with {"n":1}', error: '' })
      await expect.poll(async () => (await events(agentId)).some((e) => e.type === 'commandResult' && e.commandId === 'cmd-1')).toBe(true)
      await client.close()
    })

    it('reports a failing command as an error result', async () => {
      const agentId = newAgentId()
      const client = create(server.url, AGENT_KEY, agentId)
      client.onCommand(() => {
        throw new Error('docker is not running')
      })
      await client.connect(agentInfo(agentId))
      expect(await command(agentId, 'cmd-fail')).toMatchObject({ success: false, error: 'docker is not running' })
      await client.close()
    })

    it('executes a command at most once even when it is delivered twice', async () => {
      const agentId = newAgentId()
      const client = create(server.url, AGENT_KEY, agentId)
      let runs = 0
      client.onCommand(async () => {
        runs++
        await new Promise((resolve) => setTimeout(resolve, 50))
        return { success: true, output: `run ${runs}` }
      })
      await client.connect(agentInfo(agentId))
      const [first, second] = await Promise.all([command(agentId, 'dup-1'), command(agentId, 'dup-1')])
      expect(first.output).toBe('run 1')
      expect(second.output).toBe('run 1')
      // Sent again after it finished: the stored result comes back, nothing runs.
      expect((await command(agentId, 'dup-1')).output).toBe('run 1')
      expect(runs).toBe(1)
      await client.close()
    })

    it('comes back and registers again after the server drops it, and still takes commands', async () => {
      const agentId = newAgentId()
      const client = create(server.url, AGENT_KEY, agentId)
      client.onCommand(() => ({ success: true, output: 'after reconnect' }))
      const states: string[] = []
      client.onStateChange((state) => states.push(state))
      await client.connect(agentInfo(agentId))
      await fetch(`${server.url}/test/agents/${agentId}/drop`, { method: 'POST' })
      await expect.poll(async () => (await events(agentId)).filter((e) => e.type === 'register').length, { timeout: 5000 }).toBe(2)
      await expect.poll(() => client.state, { timeout: 5000 }).toBe('connected')
      expect(states).toContain('reconnecting')
      expect(await command(agentId, 'cmd-after')).toMatchObject({ success: true, output: 'after reconnect' })
      await client.close()
    })

    it('refuses an unknown key (401) and a key of the wrong scope (403)', async () => {
      const agentId = newAgentId()
      const bad = create(server.url, 'thresh_live_acct1_wrong', agentId)
      await expect(bad.connect(agentInfo(agentId))).rejects.toThrow(/401|unknown agent key/i)
      expect(bad.state).toBe('disconnected')
      const mid = create(server.url, MID_KEY, agentId)
      await expect(mid.connect(agentInfo(agentId))).rejects.toThrow(/403|cannot reach agent endpoints/i)
      expect(await events(agentId)).toEqual([])
    })

    it('is reported disconnected after it closes', async () => {
      const agentId = newAgentId()
      const client = create(server.url, AGENT_KEY, agentId)
      await client.connect(agentInfo(agentId))
      await client.close()
      await expect.poll(async () => (await events(agentId)).some((e) => e.type === 'disconnect'), { timeout: 6000 }).toBe(true)
    })
  })
})
