// Turns the hub's JSON into the shapes the views draw. Field names follow CONTRACT §3–4 (AgentInfo,
// MetricsData); a few common aliases are accepted so a renamed field degrades to a dash, not a crash.

/**
 * @typedef {{ mount: string, usedGB: number, totalGB: number }} Disk
 * @typedef {{
 *   timestamp?: string, cpuPercent?: number, cpuPerCore: number[], memoryUsedMB?: number, memoryTotalMB?: number,
 *   diskUsedGB?: number, diskTotalGB?: number, disks: Disk[], containersRunning?: number, containers: string[],
 *   environmentCount?: number, uptimeSeconds?: number
 * }} Metrics
 * @typedef {{
 *   id: string, name: string, hostname: string, status: 'online' | 'offline' | 'reconnecting', lastSeen?: string,
 *   platform: string, osVersion: string, version: string, architecture: string, ipAddress: string,
 *   cluster: string, cpuCores?: number, ramTotalGb?: number, diskTotalGb?: number, metrics: Metrics | null,
 *   environments: string[], raw: any
 * }} FleetNode
 */

/** @param {...unknown} values @returns {any} */
function first(...values) {
  for (const v of values) if (v !== undefined && v !== null && v !== '') return v
  return undefined
}
/** @param {unknown} v */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(+v) ? +v : undefined)
/** @param {unknown} v */
const str = (v) => (v === undefined || v === null ? '' : String(v))

/** @param {any} c */
function containerName(c) {
  if (typeof c === 'string') return c
  if (c && typeof c === 'object') return str(first(c.name, c.Name, Array.isArray(c.Names) ? c.Names[0]?.replace(/^\//, '') : undefined, c.id))
  return ''
}

/** @param {any} m @returns {Metrics | null} */
export function toMetrics(m) {
  if (!m || typeof m !== 'object') return null
  return {
    timestamp: first(m.timestamp, m.time, m.at),
    cpuPercent: num(first(m.cpuPercent, m.cpu)),
    cpuPerCore: Array.isArray(m.cpuPerCore) ? m.cpuPerCore.map(Number) : [],
    memoryUsedMB: num(m.memoryUsedMB),
    memoryTotalMB: num(m.memoryTotalMB),
    diskUsedGB: num(m.diskUsedGB),
    diskTotalGB: num(m.diskTotalGB),
    disks: Array.isArray(m.disks) ? m.disks.map((/** @type {any} */ d) => ({ mount: str(d.mount), usedGB: Number(d.usedGB) || 0, totalGB: Number(d.totalGB) || 0 })) : [],
    containersRunning: num(first(m.containersRunning, m.containers?.length)),
    containers: Array.isArray(m.containers) ? m.containers.map(containerName).filter(Boolean) : [],
    environmentCount: num(m.environmentCount),
    uptimeSeconds: num(m.uptimeSeconds),
    loadAverage: Array.isArray(m.loadAverage) ? m.loadAverage.map(Number) : [],
    swapUsedMB: num(m.swapUsedMB),
    swapTotalMB: num(m.swapTotalMB),
    network: Array.isArray(m.network) ? m.network : [],
    diskIo: Array.isArray(m.diskIo) ? m.diskIo : [],
    temperatures: Array.isArray(m.temperatures) ? m.temperatures : [],
  }
}

/** @param {any} raw @returns {FleetNode} */
/** A node status as the dashboard writes it. */
export function statusLabel(status) {
  return status === 'online' ? 'Online' : status === 'reconnecting' ? 'Reconnecting' : 'Offline'
}

export function toNode(raw) {
  const info = raw.info ?? raw.agentInfo ?? raw
  // The hub's NodeDetail flattens the latest sample (cpuPercent, ramUsedGb, diskUsedGb...) into the node.
  const flat = raw.cpuPercent !== undefined || raw.ramUsedGb !== undefined
    ? {
        timestamp: raw.lastSeenAt,
        cpuPercent: raw.cpuPercent,
        memoryUsedMB: num(raw.ramUsedGb) === undefined ? undefined : /** @type {number} */ (num(raw.ramUsedGb)) * 1024,
        memoryTotalMB: num(raw.ramTotalGb) === undefined ? undefined : /** @type {number} */ (num(raw.ramTotalGb)) * 1024,
        diskUsedGB: raw.diskUsedGb,
        diskTotalGB: raw.diskTotalGb,
        containersRunning: raw.containersRunning,
        environmentCount: raw.environmentCount,
        uptimeSeconds: raw.uptimeSeconds,
      }
    : undefined
  const detailed = first(raw.metrics, raw.latestMetrics, raw.lastMetrics, raw.latest)
  const metricsRaw = detailed && flat ? { ...flat, ...detailed } : detailed ?? flat
  const online =
    typeof raw.online === 'boolean' ? raw.online : typeof raw.connected === 'boolean' ? raw.connected : /^(online|connected|healthy)$/i.test(str(raw.status))
  const cluster = first(raw.cluster?.name, raw.cluster, raw.clusterName, Array.isArray(raw.clusters) ? raw.clusters[0]?.name ?? raw.clusters[0] : undefined)
  return {
    id: str(first(raw.id, raw.agentId, info.agentId, raw.name)),
    name: str(first(raw.name, raw.nodeName, info.hostname, raw.id)),
    hostname: str(first(info.hostname, raw.hostname)),
    // `reconnecting`: the hub process holding the node's connection stopped (several hubs on one database).
    status: /^reconnecting$/i.test(str(raw.status)) ? 'reconnecting' : online ? 'online' : 'offline',
    lastSeen: first(raw.lastSeen, raw.lastSeenAt, raw.lastHeartbeat, metricsRaw?.timestamp),
    platform: str(first(info.platform, raw.platform)),
    osVersion: str(first(info.osVersion, raw.osVersion)),
    version: str(first(info.threshVersion, raw.threshVersion, raw.version, raw.agentVersion)),
    architecture: str(first(info.architecture, raw.architecture)),
    ipAddress: str(first(info.ipAddress, raw.ipAddress)),
    cluster: typeof cluster === 'string' ? cluster : '',
    cpuCores: num(first(info.cpuCores, raw.cpuCores)),
    ramTotalGb: num(first(info.ramTotalGb, raw.ramTotalGb)),
    diskTotalGb: num(first(info.diskTotalGb, raw.diskTotalGb)),
    metrics: toMetrics(metricsRaw),
    environments: Array.isArray(raw.environments) ? raw.environments.map((/** @type {any} */ e) => str(typeof e === 'string' ? e : first(e.name, e.id))) : [],
    raw,
  }
}

/**
 * @typedef {{ name: string, image: string, status: string, ports: string[], error: string }} StackServiceView
 * @typedef {{ name: string, status: string, node: string, nodeId: string, cluster: string, error: string, rolledBack: string,
 *   services: StackServiceView[], updatedAt?: string, createdAt?: string, raw: any }} StackView
 */

/** @param {any} p */
function portText(p) {
  if (typeof p === 'string' || typeof p === 'number') return String(p)
  if (p && typeof p === 'object') return `${p.host ?? p.hostPort ?? ''}:${p.container ?? p.containerPort ?? ''}${p.protocol && p.protocol !== 'tcp' ? '/' + p.protocol : ''}`
  return ''
}

/** @param {any} raw */
const rolledBack = (raw) => typeof raw.errorMessage === 'string' && raw.errorMessage.startsWith('rolled back:')

/** @param {any} raw @returns {StackView} */
export function toStack(raw) {
  const services = Array.isArray(raw.services)
    ? raw.services
    : raw.services && typeof raw.services === 'object'
      ? Object.entries(raw.services).map(([name, s]) => ({ name, .../** @type {any} */ (s) }))
      : []
  return {
    name: str(raw.name),
    status: str(first(raw.status, raw.state, 'unknown')),
    node: str(first(raw.nodeName, raw.node?.name, typeof raw.node === 'string' ? raw.node : undefined, raw.targetNode, raw.agentId, raw.nodeId)),
    nodeId: str(first(raw.targetNodeId, raw.nodeId, raw.agentId, raw.node?.id, raw.targetNode)),
    cluster: str(first(raw.cluster, raw.targetCluster)),
    // "rolled back: <reason>": the last deploy failed and was undone; the stack runs as before, no error.
    error: rolledBack(raw) ? '' : str(first(raw.error, raw.errorMessage, raw.message)),
    rolledBack: rolledBack(raw) ? str(raw.errorMessage) : '',
    services: services.map((/** @type {any} */ s) => ({
      name: str(s.name),
      image: str(s.image).replace(/^docker:/, ''),
      status: str(first(s.status, s.state, 'pending')),
      ports: Array.isArray(s.ports) ? s.ports.map(portText).filter(Boolean) : [],
      error: str(first(s.error, s.errorMessage)),
    })),
    updatedAt: first(raw.updatedAt, raw.lastUpdated),
    createdAt: first(raw.createdAt, raw.deployedAt),
    raw,
  }
}

/**
 * @typedef {{ name: string, description: string, nodes: string[], nodeCount: number, raw: any }} ClusterView
 * @param {any} raw @returns {ClusterView}
 */
export function toCluster(raw) {
  const nodes = Array.isArray(raw.nodes) ? raw.nodes.map((/** @type {any} */ n) => str(typeof n === 'string' ? n : first(n.name, n.nodeName, n.id, n.agentId))) : []
  return { name: str(raw.name), description: str(raw.description), nodes, nodeCount: num(first(raw.nodeCount, nodes.length)) ?? 0, raw }
}

/**
 * @typedef {{ id: string, name: string, type: string, createdAt?: string, lastUsedAt?: string, revoked: boolean, status: string,
 *   expiresAt?: string, prefix: string, raw: any }} KeyView
 * @param {any} raw @returns {KeyView}
 */
export function toKey(raw) {
  const revokedAt = first(raw.revokedAt, raw.revoked === true ? 'yes' : undefined)
  const status = str(raw.status)
  return {
    id: str(raw.id),
    name: str(first(raw.name, raw.label)),
    type: str(first(raw.type, raw.kind, raw.scope)),
    createdAt: first(raw.createdAt, raw.created),
    lastUsedAt: first(raw.lastUsedAt, raw.lastUsed),
    revoked: Boolean(revokedAt) || status === 'revoked' || status === 'expired',
    status: status || (revokedAt ? 'revoked' : 'active'),
    expiresAt: first(raw.expiresAt, raw.revokeAfter, raw.graceUntil),
    prefix: str(first(raw.prefix, raw.keyPrefix, raw.hint, raw.display)),
    raw,
  }
}
