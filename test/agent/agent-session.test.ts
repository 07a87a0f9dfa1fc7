// A real agent process against a real agent server (the gateway behind /agenthub and REST polling):
// registration, metrics, reconnects with buffered samples, failover and failback, auth errors.
import { afterAll, describe, expect, it } from 'vitest'
import { startAgent, waitFor, type RunningAgent } from './agent-helpers.ts'
import { startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'

const agents: RunningAgent[] = []
const servers: AgentTestServer[] = []
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()))
  await Promise.all(servers.map((s) => s.stop()))
})

async function server(options?: Parameters<typeof startAgentTestServer>[0]) {
  const s = await startAgentTestServer(options)
  servers.push(s)
  return s
}
async function agent(config: Record<string, unknown>) {
  const a = await startAgent(config)
  agents.push(a)
  return a
}

describe('an agent connected over SignalR', () => {
  it('registers with its host facts and reports metrics with per-core CPU, memory and every disk', async () => {
    const hub = await server()
    const a = await agent({ midtierUrl: hub.url, nodeName: 'node-facts' })
    const status = await a.until('connected')
    expect(status).toMatchObject({ transport: 'signalr', hubUrl: hub.url, target: 'primary' })
    const registered = await waitFor(() => hub.events.registers.filter((r) => r.agent.agentId === status.agentId), (r) => r.length > 0, 'a registration')
    expect(registered[0]!.agent).toMatchObject({ hostname: 'node-facts', threshVersion: '0.1.0', architecture: process.arch })
    expect(registered[0]!.agent.cpuCores).toBeGreaterThan(0)
    expect(registered[0]!.agent.diskTotalGb).toBeGreaterThan(0)

    const samples = await waitFor(() => hub.events.metrics.filter((m) => m.agentId === status.agentId), (m) => m.length >= 2, 'two metric samples')
    const sample = samples[1]!.metrics
    expect(sample.cpuPerCore.length).toBeGreaterThan(0)
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0)
    expect(sample.memoryTotalMB).toBeGreaterThan(0)
    expect(sample.disks.map((d) => d.mount)).toContain('/')
    expect(sample.disks.every((d) => d.totalGB > 0 && d.usedGB >= 0)).toBe(true)
    expect(sample).toHaveProperty('containersRunning')
    expect(Array.isArray(sample.containers)).toBe(true)
    expect(sample.uptimeSeconds).toBeGreaterThan(0)
    expect((sample as unknown as { versions: Record<string, string> }).versions.thresh).toBe('0.1.0')
  })
})
