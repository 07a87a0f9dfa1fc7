// What each rule kind watches, as observations per subject: `active` when the condition holds (since
// when, if known), `clear` when it is clearly over (below the threshold by the hysteresis margin).
import type { AlertRuleRecord, ClusterSummary, EventInput, NodeRecord, StackRecord } from '../../lib/storage/index.ts'

export interface Observation {
  subject: string
  active: boolean
  clear: boolean
  /** When the condition started, if the source knows (an exit, a disconnect); else first observed. */
  since?: number
  /** Worded only when an alert fires: most observations never need it. */
  message(): string
  /** Names a silence may match: node id and host name, stack, container, mid-tier. */
  names: string[]
  details(): Record<string, unknown>
}

/** Percentage points a value must fall below the threshold before an alert resolves. */
export const HYSTERESIS = 5

interface ContainerState {
  nodeId: string
  name: string
  stack?: string
  running: boolean
  /** Stopped because someone asked (thresh stack stop, an update, docker stop): not an alert. */
  stopRequested: boolean
  exitCode?: number
  changedAt: number
  health?: string
  healthAt: number
  starts: number[]
}

export interface AccountView {
  nodes: NodeRecord[]
  clusters?: ClusterSummary[]
  stacks?: StackRecord[]
}

const pct = (used: unknown, total: unknown) => (typeof used === 'number' && typeof total === 'number' && total > 0 ? (used / total) * 100 : undefined)

/** The value a cpu/memory/disk rule compares, from a node's latest sample. */
export function usage(kind: 'cpu' | 'memory' | 'disk', node: NodeRecord): number | undefined {
  const m = node.lastMetrics ?? {}
  if (kind === 'cpu') return typeof m.cpuPercent === 'number' ? m.cpuPercent : undefined
  if (kind === 'memory') return pct(m.memoryUsedMB, m.memoryTotalMB)
  return pct(m.diskUsedGB, m.diskTotalGB)
}

/** The fleet state the evaluator keeps from events: containers and mid-tiers, per account. */
export function createFleetState() {
  // Per account, by node and container name: a rule reads only its own account's containers.
  const containers = new Map<string, Map<string, ContainerState>>()
  let containerCount = 0
  const midtiers = new Map<string, { accountId: string; id: string; connected: boolean; at: number; certificateExpiresAt?: number }>()

  return {
    observe(accountId: string, event: EventInput) {
      const at = Date.parse(event.at)
      if (event.kind === 'midtier_connected' || event.kind === 'midtier_disconnected') {
        const id = String(event.details?.midtierId ?? '')
        const key = `${accountId}\u0000${id}`
        const expires = Date.parse(String(event.details?.certificateExpiresAt ?? ''))
        const known = midtiers.get(key)?.certificateExpiresAt
        const certificateExpiresAt = Number.isFinite(expires) ? expires : known
        midtiers.set(key, { accountId, id, connected: event.kind === 'midtier_connected', at, ...(certificateExpiresAt !== undefined ? { certificateExpiresAt } : {}) })
        return
      }
      if (event.kind === 'stack_destroyed' && event.stack) {
        // Its containers are gone on purpose: whatever fired about them (a crash before) is over.
        for (const c of containers.get(accountId)?.values() ?? []) {
          if (c.stack !== event.stack || (event.nodeId && c.nodeId !== event.nodeId)) continue
          c.running = false
          c.stopRequested = true
          delete c.health
        }
        return
      }
      if (!event.kind.startsWith('container_') || !event.nodeId) return
      const name = String(event.details?.container ?? event.details?.containerId ?? '')
      if (!name) return
      const key = `${event.nodeId}\u0000${name}`
      let mine = containers.get(accountId)
      if (!mine) containers.set(accountId, (mine = new Map()))
      let c = mine.get(key)
      if (!c) {
        // Bounded: past 200,000 containers the account's oldest entry goes.
        if (containerCount >= 200_000) {
          mine.delete(mine.keys().next().value as string)
          containerCount--
        }
        c = { nodeId: event.nodeId, name, running: true, stopRequested: false, changedAt: at, healthAt: at, starts: [] }
        mine.set(key, c)
        containerCount++
      }
      if (event.stack) c.stack = event.stack
      if (event.kind === 'container_start') {
        c.running = true
        c.changedAt = at
        c.starts.push(at)
        if (c.starts.length > 1000) c.starts.shift()
        delete c.health
      } else if (event.kind === 'container_die') {
        c.running = false
        c.stopRequested = event.details?.requested === true
        c.changedAt = at
        const code = event.details?.exitCode
        if (typeof code === 'number') c.exitCode = code
        else delete c.exitCode
      } else if (event.kind === 'container_health') {
        c.health = String(event.details?.health ?? '')
        c.healthAt = at
      }
    },

    containersOf(accountId: string): Iterable<ContainerState> {
      return containers.get(accountId)?.values() ?? []
    },
    midtiersOf(accountId: string) {
      return [...midtiers.values()].filter((m) => m.accountId === accountId)
    },
  }
}

export type FleetState = ReturnType<typeof createFleetState>

/** Whether a node is in the rule's scope. */
function nodeInScope(rule: AlertRuleRecord, node: NodeRecord, view: AccountView): boolean {
  const v = rule.scopeValue
  switch (rule.scopeType) {
    case 'account':
      return true
    case 'node':
      return node.id === v || node.hostname === v
    case 'cluster': {
      const cluster = view.clusters?.find((c) => c.id === v || c.name === v)
      return Boolean(cluster && node.clusterId === cluster.id)
    }
    case 'stack':
      return Boolean(view.stacks?.some((s) => (s.name === v || s.id === v) && s.nodeId === node.id))
  }
}

export interface CertificateInfo {
  subject: string
  name: string
  notAfter: number
}

export function observe(rule: AlertRuleRecord, accountId: string, view: AccountView, fleet: FleetState, now: number, certificates: CertificateInfo[]): Observation[] {
  const out: Observation[] = []
  const nodes = view.nodes.filter((n) => nodeInScope(rule, n, view))
  switch (rule.kind) {
    case 'node_offline':
      for (const n of nodes) {
        const since = Date.parse(n.lastSeenAt)
        const offlineFor = now - since
        const active = n.status === 'offline' && offlineFor >= rule.durationMs
        out.push({
          subject: `node:${n.id}`,
          active,
          clear: n.status === 'online',
          since,
          message: () => `${n.hostname} has been offline for ${Math.round(offlineFor / 1000)} s (last seen ${n.lastSeenAt}).`,
          names: [n.id, n.hostname],
          details: () => ({ nodeId: n.id, hostname: n.hostname, lastSeenAt: n.lastSeenAt }),
        })
      }
      return out
    case 'cpu':
    case 'memory':
    case 'disk': {
      const threshold = rule.threshold ?? 90
      for (const n of nodes) {
        const value = n.status === 'online' ? usage(rule.kind, n) : undefined
        if (value === undefined) continue
        const label = rule.kind === 'cpu' ? 'CPU' : rule.kind
        out.push({
          subject: `node:${n.id}`,
          active: value > threshold,
          clear: value < threshold - HYSTERESIS,
          message: () => `${label} on ${n.hostname} is ${value.toFixed(1)} % (above ${threshold} %).`,
          names: [n.id, n.hostname],
          details: () => ({ nodeId: n.id, hostname: n.hostname, value: Math.round(value * 10) / 10, threshold }),
        })
      }
      return out
    }
    case 'container_stopped':
    case 'container_unhealthy':
    case 'container_restarting': {
      const hostOf = new Map(view.nodes.map((n) => [n.id, n.hostname]))
      const inNodes = rule.scopeType === 'node' || rule.scopeType === 'cluster' ? new Set(nodes.map((n) => n.id)) : undefined
      const limit = rule.threshold ?? 3
      for (const c of fleet.containersOf(accountId)) {
        const inScope = rule.scopeType === 'account' || (rule.scopeType === 'stack' ? c.stack === rule.scopeValue : inNodes!.has(c.nodeId))
        if (!inScope) continue
        // Plain object literals (no spreads): this loop runs for every container of the fleet each tick.
        const host = hostOf.get(c.nodeId) ?? c.nodeId
        const subject = `container:${c.nodeId}/${c.name}`
        const names = c.stack ? [c.nodeId, host, c.name, c.stack] : [c.nodeId, host, c.name]
        const details = (): Record<string, unknown> => {
          const d: Record<string, unknown> = { nodeId: c.nodeId, hostname: host, container: c.name }
          if (c.stack) d.stack = c.stack
          if (rule.kind === 'container_stopped' && c.exitCode !== undefined) d.exitCode = c.exitCode
          return d
        }
        if (rule.kind === 'container_stopped') {
          out.push({
            subject,
            names,
            active: !c.running && !c.stopRequested,
            clear: c.running || c.stopRequested,
            since: c.changedAt,
            message: () => `${c.name} on ${host} stopped${c.exitCode !== undefined ? ` with exit code ${c.exitCode}` : ''}.`,
            details,
          })
        } else if (rule.kind === 'container_unhealthy') {
          const unhealthy = c.running && c.health === 'unhealthy'
          out.push({ subject, names, active: unhealthy, clear: !unhealthy, since: c.healthAt, message: () => `${c.name} on ${host} is unhealthy.`, details })
        } else {
          // Restarts are starts after the first one in the window.
          let starts = 0
          for (const t of c.starts) if (now - t <= rule.durationMs) starts++
          const restarts = Math.max(0, starts - 1)
          out.push({
            subject,
            names,
            active: restarts > limit,
            clear: restarts <= limit,
            since: now - rule.durationMs,
            message: () => `${c.name} on ${host} restarted ${restarts} times in ${Math.round(rule.durationMs / 1000)} s.`,
            details: () => ({ ...details(), restarts }),
          })
        }
      }
      return out
    }
    case 'midtier_disconnected':
      for (const m of fleet.midtiersOf(accountId)) {
        if (rule.scopeType === 'node' && rule.scopeValue !== m.id) continue
        out.push({
          subject: `midtier:${m.id}`,
          active: !m.connected,
          clear: m.connected,
          since: m.at,
          message: () => `Mid-tier ${m.id} has been disconnected since ${new Date(m.at).toISOString()}.`,
          names: [m.id],
          details: () => ({ midtierId: m.id }),
        })
      }
      return out
    case 'cert_expiring': {
      const days = rule.threshold ?? 14
      // The hub's own, and each mid-tier's as it said when it connected.
      const mine = fleet.midtiersOf(accountId).flatMap((m) => (m.certificateExpiresAt === undefined ? [] : [{ subject: `cert:${m.id}`, name: `mid-tier ${m.id}`, notAfter: m.certificateExpiresAt }]))
      for (const cert of [...certificates, ...mine]) {
        const left = (cert.notAfter - now) / 86_400_000
        out.push({
          subject: cert.subject,
          active: left < days,
          clear: left >= days,
          since: now,
          message: () => `The certificate of ${cert.name} expires on ${new Date(cert.notAfter).toISOString()} (${Math.max(0, Math.floor(left))} days left).`,
          names: [cert.name],
          details: () => ({ notAfter: new Date(cert.notAfter).toISOString(), daysLeft: Math.floor(left) }),
        })
      }
      return out
    }
  }
}
