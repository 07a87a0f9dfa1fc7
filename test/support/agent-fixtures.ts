// The AgentInfo a test agent registers with: one shape for every suite, with the fields a test
// asserts on passed as overrides.
import type { AgentInfo } from '../../lib/agent-session/protocol.ts'

export function agentInfo(agentId: string, overrides: Partial<AgentInfo> = {}): AgentInfo {
  return {
    agentId,
    hostname: `host-${agentId}`,
    platform: 'linux',
    osVersion: '6.1',
    threshVersion: '0.1.0',
    ipAddress: '127.0.0.1',
    architecture: 'x64',
    containerRuntime: 'docker',
    cpuCores: 2,
    ramTotalGb: 4,
    diskTotalGb: 40,
    registeredAt: new Date().toISOString(),
    ...overrides,
  }
}
