// Who this agent is: a stable agent id (generated once, kept in THRESH_HOME) and the AgentInfo it
// registers with on every connect.
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import type { AgentInfo } from '../../lib/agent-session/protocol.ts'

const ID_FILE = 'agent-id'

/** The agent id in `dataDir/agent-id`, or `agent-id` in agent.json; created on first use. */
export function loadAgentId(dataDir: string): string {
  try {
    const data = JSON.parse(readFileSync(join(dataDir, 'agent.json'), 'utf8')) as Record<string, unknown>
    const fromConfig = data.agentId ?? data['agent-id']
    if (typeof fromConfig === 'string' && fromConfig.trim()) return fromConfig.trim()
  } catch {
    // No agent.json, or not JSON: the role's config loading reports that.
  }
  try {
    const id = readFileSync(join(dataDir, ID_FILE), 'utf8').trim()
    if (id) return id
  } catch {
    // First start.
  }
  const id = randomUUID()
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(join(dataDir, ID_FILE), id + '\n', { mode: 0o644 })
  return id
}

export function primaryAddress(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address
  }
  return '127.0.0.1'
}

export interface HostFacts {
  cpuCores: number
  ramTotalGb: number
  diskTotalGb: number
  containerRuntime: string
}

export function agentInfo(agentId: string, nodeName: string | undefined, threshVersion: string, facts: HostFacts): AgentInfo {
  return {
    agentId,
    hostname: nodeName || os.hostname(),
    platform: os.platform(),
    osVersion: os.release(),
    threshVersion,
    ipAddress: primaryAddress(),
    architecture: os.arch(),
    containerRuntime: facts.containerRuntime,
    cpuCores: facts.cpuCores,
    ramTotalGb: facts.ramTotalGb,
    diskTotalGb: facts.diskTotalGb,
    registeredAt: new Date().toISOString(),
  }
}
