// Shared pieces for mid-tier tests: a mid-tier in-process, agents on the real clients, and polling.
import { startRole, type RunningRole } from '../../roles/start-role.ts'
import type { MetricsData } from '../../lib/agent-session/protocol.ts'
import { tempHome } from '../support/process.ts'

export function startMidtier(hubUrl: string, apiKey: string, fields: Record<string, unknown> = {}, home = tempHome('thresh-midtier-')): Promise<RunningRole> {
  return startRole({
    role: 'midtier',
    env: {},
    flags: { host: '127.0.0.1', port: 0, tls: false, logLevel: 'silent', dataDir: home, hubUrl, apiKey, batchInterval: '100ms', ...fields },
    plugins: [],
  })
}

export { agentInfo } from '../support/agent-fixtures.ts'

/** A sample whose `uptimeSeconds` carries a sequence number, so tests can count what arrived. */
export function sample(agentId: string, seq: number): MetricsData {
  return {
    agentId,
    timestamp: new Date().toISOString(),
    cpuPercent: 12.5,
    cpuPerCore: [10, 15],
    memoryUsedMB: 512,
    memoryTotalMB: 4096,
    diskUsedGB: 10,
    diskTotalGB: 40,
    disks: [{ mount: '/', usedGB: 10, totalGB: 40 }],
    containersRunning: 0,
    containers: [],
    environmentCount: 0,
    uptimeSeconds: seq,
  }
}

export async function waitFor<T>(what: string, read: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  while (Date.now() < deadline) {
    last = await read()
    if (last) return last as NonNullable<T>
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`)
}

export { metric } from '../support/metrics-page.ts'
