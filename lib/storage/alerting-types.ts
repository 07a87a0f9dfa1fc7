// The storage contract's part for fleet events and alerting: the event log (with retention), alert
// rules, notification channels, silences, the alert history and the delivery queue. FleetStore extends it.

export type EventSeverity = 'info' | 'warning' | 'critical'

/** One thing that happened in the fleet: a node, mid-tier, container, stack, key or alert changed. */
export interface EventRecord {
  /** Increasing: a later event has a larger id (a cursor for paging and following). */
  id: string
  accountId: string
  at: string
  /** `node_online`, `node_offline`, `container_die`, `stack_deployed`, `alert_firing`, … (docs/alerts.md). */
  kind: string
  severity: EventSeverity
  nodeId?: string
  stack?: string
  message: string
  details?: Record<string, unknown>
}

export type EventInput = Omit<EventRecord, 'id' | 'accountId'>

export interface EventQuery {
  nodeId?: string
  stack?: string
  /** Events at or after this time. */
  since?: string
  /** Newest first, older than this id (paging). */
  before?: string
  /** Oldest first, newer than this id (following). */
  after?: string
  kinds?: string[]
  /** Default 100. */
  limit?: number
}

export type AlertRuleKind =
  | 'node_offline'
  | 'cpu'
  | 'memory'
  | 'disk'
  | 'container_stopped'
  | 'container_unhealthy'
  | 'container_restarting'
  | 'midtier_disconnected'
  | 'cert_expiring'

export type AlertScopeType = 'account' | 'cluster' | 'node' | 'stack'

export interface AlertRuleRecord {
  id: string
  accountId: string
  name: string
  kind: AlertRuleKind
  scopeType: AlertScopeType
  /** The cluster, node or stack name (or id) for those scopes. */
  scopeValue?: string
  /** Percent for cpu/memory/disk; restarts for container_restarting; days for cert_expiring. */
  threshold?: number
  /** How long the condition must hold before it fires (and stay clear before it resolves). */
  durationMs: number
  channelIds: string[]
  enabled: boolean
  createdAt: string
}

export type AlertChannelType = 'webhook' | 'email'

/** One delivery attempt, newest first on the channel. */
export interface DeliveryAttempt {
  at: string
  ok: boolean
  /** HTTP status or SMTP reply, or the error. */
  detail: string
  deliveryId: string
}

export interface AlertChannelRecord {
  id: string
  accountId: string
  name: string
  type: AlertChannelType
  /** webhook: url, template (json|slack|discord|ntfy); email: host, port, secure, starttls, username, from, to. */
  config: Record<string, unknown>
  /** The webhook signing secret or the SMTP password; never returned by the API. */
  secret?: string
  status: 'ok' | 'failing'
  /** Consecutive failed deliveries. */
  failures: number
  lastAttempts: DeliveryAttempt[]
  createdAt: string
}

export type AlertChannelPatch = Partial<Pick<AlertChannelRecord, 'status' | 'failures' | 'lastAttempts'>>

export interface SilenceRecord {
  id: string
  accountId: string
  /** Only this rule's alerts; all rules when absent. */
  ruleId?: string
  /** Only alerts about this node or stack (a subject's name); everything when absent. */
  subject?: string
  endsAt: string
  comment: string
  createdBy: string
  createdAt: string
}

export interface AlertRecord {
  id: string
  accountId: string
  ruleId: string
  ruleName: string
  kind: AlertRuleKind
  /** What the alert is about: `node:<id>`, `container:<node>/<name>`, `midtier:<id>`, `cert:hub`. */
  subject: string
  state: 'firing' | 'resolved'
  severity: EventSeverity
  message: string
  details?: Record<string, unknown>
  startedAt: string
  resolvedAt?: string
  /** A silence held its notifications back. */
  silenced: boolean
}

export interface DeliveryRecord {
  id: string
  accountId: string
  channelId: string
  alertId?: string
  event: 'firing' | 'resolved' | 'test'
  payload: Record<string, unknown>
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: string
  lastError?: string
  createdAt: string
  deliveredAt?: string
}

export type DeliveryPatch = Partial<Pick<DeliveryRecord, 'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'deliveredAt'>>

export interface AlertingStore {
  /** Returns the events as stored (with their ids), in the order given. */
  appendEvents(accountId: string, events: EventInput[]): Promise<EventRecord[]>
  listEvents(accountId: string, query?: EventQuery): Promise<EventRecord[]>
  /** Fleet-wide: deletes events older than `before`; returns how many. */
  pruneEvents(before: string): Promise<number>

  createAlertRule(record: AlertRuleRecord): Promise<AlertRuleRecord>
  getAlertRule(accountId: string, id: string): Promise<AlertRuleRecord | undefined>
  listAlertRules(accountId: string): Promise<AlertRuleRecord[]>
  /** Fleet-wide, for the evaluator: every enabled rule. */
  listEnabledAlertRules(): Promise<AlertRuleRecord[]>
  updateAlertRule(accountId: string, id: string, patch: Partial<Pick<AlertRuleRecord, 'enabled' | 'channelIds' | 'threshold' | 'durationMs' | 'name'>>): Promise<boolean>
  deleteAlertRule(accountId: string, id: string): Promise<boolean>

  createAlertChannel(record: AlertChannelRecord): Promise<AlertChannelRecord>
  getAlertChannel(accountId: string, id: string): Promise<AlertChannelRecord | undefined>
  listAlertChannels(accountId: string): Promise<AlertChannelRecord[]>
  updateAlertChannel(accountId: string, id: string, patch: AlertChannelPatch): Promise<boolean>
  deleteAlertChannel(accountId: string, id: string): Promise<boolean>

  createSilence(record: SilenceRecord): Promise<SilenceRecord>
  listSilences(accountId: string): Promise<SilenceRecord[]>
  deleteSilence(accountId: string, id: string): Promise<boolean>

  /** Opens an alert; undefined when one is already firing for the same rule and subject. */
  openAlert(record: AlertRecord): Promise<AlertRecord | undefined>
  /** Marks a firing alert resolved; false if it is not firing. */
  resolveAlert(accountId: string, id: string, at: string): Promise<boolean>
  /** A silenced alert still firing when its silence ended: no longer silenced; false if it was not (another hub was first). */
  unsilenceAlert(accountId: string, id: string): Promise<boolean>
  listAlerts(accountId: string, options?: { state?: 'firing' | 'resolved'; limit?: number }): Promise<AlertRecord[]>
  /** Fleet-wide: every firing alert (the evaluator's state after a restart). */
  listFiringAlerts(): Promise<AlertRecord[]>

  enqueueDeliveries(records: DeliveryRecord[]): Promise<void>
  /**
   * Fleet-wide: pending deliveries due at `now`, oldest first; each is leased (its next attempt moved
   * to `now + leaseMs`) so a second sender does not take it too.
   */
  claimDeliveries(now: string, leaseMs: number, limit: number): Promise<DeliveryRecord[]>
  updateDelivery(id: string, patch: DeliveryPatch): Promise<boolean>
  listDeliveries(accountId: string, options?: { channelId?: string; limit?: number }): Promise<DeliveryRecord[]>
}
