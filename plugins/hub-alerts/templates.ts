// The notification a delivery carries, and how each channel style words it: plain JSON (signed), a
// Slack or Discord incoming webhook, an ntfy topic, or an e-mail.
import type { AlertRecord } from '../../lib/storage/index.ts'

export type WebhookTemplate = 'json' | 'slack' | 'discord' | 'ntfy'
export const WEBHOOK_TEMPLATES: readonly WebhookTemplate[] = ['json', 'slack', 'discord', 'ntfy']

/** What is queued for one channel: stored as the delivery's payload, rendered when it is sent. */
export interface Notification {
  event: 'firing' | 'resolved' | 'test'
  accountId: string
  alert?: Pick<AlertRecord, 'id' | 'ruleId' | 'ruleName' | 'kind' | 'subject' | 'severity' | 'message' | 'startedAt' | 'resolvedAt' | 'details'>
  sentAt?: string
}

export function notificationOf(event: 'firing' | 'resolved', alert: AlertRecord): Notification {
  const { id, ruleId, ruleName, kind, subject, severity, message, startedAt, resolvedAt, details } = alert
  return { event, accountId: alert.accountId, alert: { id, ruleId, ruleName, kind, subject, severity, message, startedAt, ...(resolvedAt ? { resolvedAt } : {}), ...(details ? { details } : {}) } }
}

export function title(n: Notification): string {
  if (n.event === 'test' || !n.alert) return 'thresh: test notification'
  return `[${n.event === 'firing' ? n.alert.severity.toUpperCase() : 'RESOLVED'}] ${n.alert.ruleName}`
}

export function text(n: Notification): string {
  if (n.event === 'test' || !n.alert) return 'This is a test notification from thresh: the channel works.'
  return n.event === 'firing' ? n.alert.message : `Resolved: ${n.alert.message}`
}

/** The HTTP body and headers a webhook template sends. */
export function renderWebhook(template: WebhookTemplate, n: Notification): { body: string; contentType: string; headers: Record<string, string> } {
  switch (template) {
    case 'slack':
      return { body: JSON.stringify({ text: `*${title(n)}*\n${text(n)}` }), contentType: 'application/json', headers: {} }
    case 'discord':
      return { body: JSON.stringify({ content: `**${title(n)}**\n${text(n)}` }), contentType: 'application/json', headers: {} }
    case 'ntfy': {
      const urgent = n.event === 'firing' && n.alert?.severity === 'critical'
      return {
        body: text(n),
        contentType: 'text/plain; charset=utf-8',
        headers: { Title: title(n).replace(/[^\x20-\x7e]/g, '?'), Priority: urgent ? 'urgent' : 'default', Tags: n.event === 'resolved' ? 'white_check_mark' : n.event === 'test' ? 'bell' : 'warning' },
      }
    }
    default:
      return { body: JSON.stringify(n), contentType: 'application/json', headers: {} }
  }
}
