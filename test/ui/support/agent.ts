// A real agent for the dashboard tests: the official SignalR client speaking the agent protocol to
// the hub, sending changing metrics, and running stack commands on the real Docker engine.
import { randomUUID } from 'node:crypto'
import { createSignalRAgentClient, type AgentInfo, type AgentTransportClient, type MetricsData } from '../../../lib/agent-session/agent/index.ts'
import { parseStack, type StackState } from '../../../lib/stack/index.ts'
import { createDockerRuntime } from '../../../plugins/runtime-docker/index.ts'
import { agentInfo } from '../../support/agent-fixtures.ts'

export interface TestAgent {
  agentId: string
  hostname: string
  client: AgentTransportClient
  /** Sends one metrics sample whose CPU figure differs from the previous one. */
  report(): Promise<MetricsData>
  close(): Promise<void>
}

type Args = Record<string, unknown>

export async function startTestAgent(options: { url: string; apiKey: string; hostname: string; metricsEveryMs?: number; hostFigures?: boolean }): Promise<TestAgent> {
  const agentId = randomUUID()
  const runtime = createDockerRuntime({ proxy: false })
  const client = createSignalRAgentClient({ url: options.url, apiKey: options.apiKey, transports: ['WebSockets'], reconnectDelayMs: 200 })
  const containers = new Set<string>()
  let tick = 0

  const progress = (stackId: string) => (event: { type: string; service?: string; status?: string; message?: string }) => {
    if (event.type !== 'service' || !event.service) return
    void client.sendStatusUpdate({ stackId, serviceName: event.service, status: event.status ?? 'pending', errorMessage: event.message ?? null }).catch(() => {})
  }
  const outcome = (state: StackState | undefined | boolean) => {
    if (state && typeof state === 'object') for (const s of state.services) if (s.status === 'running') containers.add(`${state.name}-${s.name}`)
    // As the real agent (agent-commands/tools.ts): a rolled-back deploy fails, saying why, though the stack runs.
    const rolledBack = typeof state === 'object' && state?.rolledBack ? `rolled back: ${state.rolledBack}` : undefined
    const ok = typeof state === 'boolean' ? true : !state || (state.status !== 'error' && !rolledBack)
    return { success: ok, output: typeof state === 'object' && state ? JSON.stringify(state) : '', error: ok ? '' : rolledBack ?? (state as StackState).error ?? 'failed' }
  }

  client.onCommand(async (command) => {
    const a = command.arguments as Args
    const account = String(a.account ?? 'local')
    const stackName = String(a.stackName ?? '')
    const opts = { account, onProgress: progress(String(a.stackId ?? '')) }
    switch (command.tool) {
      case 'deploy_stack': {
        const parsed = parseStack({ name: stackName, traefik: a.traefik, services: a.services })
        if (!parsed.ok) return { success: false, error: parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ') }
        return outcome(await runtime.deploy(parsed.stack, { ...opts, ...(typeof a.rollback === 'boolean' ? { rollback: a.rollback } : {}) }))
      }
      case 'update_service':
        return outcome(await runtime.updateService(stackName, String(a.service), String(a.image), opts))
      case 'stop_stack':
        return outcome(await runtime.stop(stackName, opts))
      case 'start_stack':
        return outcome(await runtime.start(stackName, opts))
      case 'destroy_stack':
        for (const c of [...containers]) if (c.startsWith(`${stackName}-`)) containers.delete(c)
        return outcome(await runtime.destroy(stackName, opts))
      case 'get_version':
        return { success: true, output: JSON.stringify({ version: '0.1.0-test' }) }
      default:
        return { success: false, error: `The test agent has no tool '${command.tool}'.` }
    }
  })

  const info = (): AgentInfo =>
    agentInfo(agentId, { hostname: options.hostname, osVersion: 'Debian GNU/Linux 13', threshVersion: '0.1.0-test', cpuCores: 4, ramTotalGb: 16, diskTotalGb: 500 })
  await client.connect(info)

  const report = async (): Promise<MetricsData> => {
    tick++
    const cpu = 10 + ((tick * 17) % 70) + tick / 1000
    const sample: MetricsData = {
      agentId,
      timestamp: new Date().toISOString(),
      cpuPercent: Math.round(cpu * 10) / 10,
      cpuPerCore: [cpu, cpu / 2, Math.min(100, cpu * 1.2), 5],
      memoryUsedMB: 6000 + tick * 10,
      memoryTotalMB: 16384,
      diskUsedGB: 120.5,
      diskTotalGB: 500,
      disks: [
        { mount: '/', usedGB: 100.5, totalGB: 400 },
        { mount: '/var/lib/docker', usedGB: 20, totalGB: 100 },
      ],
      containersRunning: containers.size,
      containers: [...containers],
      environmentCount: 0,
      uptimeSeconds: 3600 + tick,
      // Load, swap, network, disk I/O and a sensor, as the Linux agent reports them.
      ...(options.hostFigures
        ? {
            loadAverage: [1 + (tick % 3) / 10, 1.5, 1.2] as [number, number, number],
            swapUsedMB: 256,
            swapTotalMB: 2048,
            network: [{ interface: 'eth0', rxBytesPerSec: 120_000 + tick * 100, txBytesPerSec: 40_000 }],
            diskIo: [{ device: 'nvme0n1', readBytesPerSec: 2_000_000, writeBytesPerSec: 500_000 + tick * 1000 }],
            temperatures: [{ sensor: 'coretemp Package id 0', celsius: 48 + (tick % 5) }],
          }
        : {}),
    }
    await client.sendMetrics(sample)
    return sample
  }
  await report()
  const timer = setInterval(() => void report().catch(() => {}), options.metricsEveryMs ?? 1000)

  return {
    agentId,
    hostname: options.hostname,
    client,
    report,
    async close() {
      clearInterval(timer)
      await client.close()
    },
  }
}
