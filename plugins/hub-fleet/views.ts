// The JSON shapes the hub's API returns for nodes, clusters and stacks (the original thresh's
// NodeDetail and StackResponse, so the CLI tables read the same columns).
import { hostExtrasOf } from '../../lib/storage/host-series.ts'
import type { ClusterRecord, MetricsPoint, NodeRecord, StackRecord } from '../../lib/storage/types.ts'

export interface NodeDetail {
  id: string
  name: string
  hostname: string
  platform: string
  osVersion: string
  architecture: string
  containerRuntime: string
  /** `reconnecting`: online, but the hub process that held its connection stopped (several hubs on PostgreSQL). */
  status: 'online' | 'offline' | 'reconnecting'
  ipAddress: string
  agentVersion: string
  connectionTier: string
  cluster: string | null
  cpuCores: number
  cpuPercent: number
  ramTotalGb: number
  ramUsedGb: number
  diskTotalGb: number
  diskUsedGb: number
  gpuCount: number
  gpuModel: string | null
  gpuMemoryTotalGb: number
  containersRunning: number
  environmentCount: number
  uptimeSeconds: number
  registeredAt: string
  lastSeenAt: string
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits
const num = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n : 0)
const str = (s: unknown) => (typeof s === 'string' ? s : '')

export function nodeDetail(node: NodeRecord, status: NodeDetail['status'], clusterName: string | null): NodeDetail {
  const m = node.lastMetrics ?? {}
  const memoryTotalMb = num(m.memoryTotalMB)
  const diskTotalGb = num(m.diskTotalGB)
  return {
    id: node.id,
    name: node.hostname,
    hostname: node.hostname,
    platform: str(node.platform),
    osVersion: str(node.osVersion),
    architecture: str(node.architecture),
    containerRuntime: str(node.containerRuntime),
    status,
    ipAddress: str(node.ipAddress),
    agentVersion: str(node.agentVersion),
    connectionTier: node.connectionTier ?? 'hub',
    cluster: clusterName,
    cpuCores: num(node.cpuCores),
    cpuPercent: round(num(m.cpuPercent), 1),
    ramTotalGb: memoryTotalMb > 0 ? round(memoryTotalMb / 1024) : round(num(node.ramTotalGb)),
    ramUsedGb: round(num(m.memoryUsedMB) / 1024),
    diskTotalGb: diskTotalGb > 0 ? round(diskTotalGb) : round(num(node.diskTotalGb)),
    diskUsedGb: round(num(m.diskUsedGB)),
    gpuCount: num(m.gpuCount),
    gpuModel: typeof m.gpuModel === 'string' ? m.gpuModel : null,
    gpuMemoryTotalGb: num(m.gpuMemoryTotalGb),
    containersRunning: num(m.containersRunning),
    environmentCount: num(m.environmentCount),
    uptimeSeconds: num(m.uptimeSeconds),
    registeredAt: node.registeredAt,
    lastSeenAt: node.lastSeenAt,
  }
}

export function clusterSummary(cluster: ClusterRecord, nodeCount: number) {
  return { id: cluster.id, name: cluster.name, description: cluster.description, nodeCount, createdAt: cluster.createdAt }
}

function fileNames(definition: unknown, kind: 'secrets' | 'configs'): string[] {
  const files = typeof definition === 'object' && definition !== null ? (definition as Record<string, unknown>)[kind] : undefined
  return typeof files === 'object' && files !== null && !Array.isArray(files) ? Object.keys(files).sort() : []
}

export function stackView(stack: StackRecord, nodeName: string | null) {
  return {
    id: stack.id,
    name: stack.name,
    status: stack.status,
    targetNodeId: stack.nodeId ?? null,
    node: nodeName,
    errorMessage: stack.errorMessage ?? null,
    createdAt: stack.createdAt,
    updatedAt: stack.updatedAt,
    deployedAt: stack.deployedAt ?? null,
    // Names only: secret and config content never leaves the hub's store.
    secrets: fileNames(stack.definition, 'secrets'),
    configs: fileNames(stack.definition, 'configs'),
    services: stack.services.map((s) => ({
      name: s.name,
      image: s.image,
      ports: s.ports,
      volumes: s.volumes,
      env: s.env,
      dependsOn: s.dependsOn,
      status: s.status,
      errorMessage: s.errorMessage ?? null,
    })),
  }
}

export type StackView = ReturnType<typeof stackView>

export function metricsPoint(point: MetricsPoint) {
  return {
    timestamp: point.at,
    cpuPercent: round(point.cpuPercent, 1),
    cpuMax: round(point.cpuMax, 1),
    memoryUsedMB: round(point.memoryUsedMb, 0),
    memoryTotalMB: round(point.memoryTotalMb, 0),
    diskUsedGB: round(point.diskUsedGb),
    diskTotalGB: round(point.diskTotalGb),
    containersRunning: round(point.containersRunning, 1),
    samples: point.samples,
    // Load, swap, network, disk I/O and temperatures in the agent's own shapes, where it reported them.
    ...hostExtrasOf(point.host),
  }
}
