// Sending one notification through one channel: a webhook (HMAC-SHA256 signed) or SMTP (nodemailer,
// STARTTLS and auth). Each answers with a one-line detail, or throws with the reason.
import { createHmac } from 'node:crypto'
import type { AlertChannelRecord } from '../../lib/storage/index.ts'
import { renderWebhook, text, title, type Notification, type WebhookTemplate } from './templates.ts'

export const SIGNATURE_HEADER = 'X-Thresh-Signature'

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`): what a receiver recomputes to trust a call. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

export async function sendWebhook(channel: AlertChannelRecord, n: Notification, timeoutMs: number): Promise<string> {
  const config = channel.config as { url: string; template?: WebhookTemplate }
  const rendered = renderWebhook(config.template ?? 'json', n)
  const timestamp = String(Math.floor(Date.now() / 1000))
  const headers: Record<string, string> = { 'Content-Type': rendered.contentType, 'User-Agent': 'thresh-alerts', 'X-Thresh-Timestamp': timestamp, ...rendered.headers }
  if (channel.secret) headers[SIGNATURE_HEADER] = signature(channel.secret, timestamp, rendered.body)
  const response = await fetch(config.url, { method: 'POST', headers, body: rendered.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
  await response.body?.cancel().catch(() => {})
  if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status} from the webhook`)
  return `HTTP ${response.status}`
}

export interface EmailConfig {
  host: string
  port: number
  /** TLS from the first byte (port 465). */
  secure?: boolean
  /** Insist on STARTTLS before sending (refuse a server that does not offer it). */
  starttls?: boolean
  tlsVerify?: boolean
  username?: string
  from: string
  to: string[]
}

export async function sendEmail(channel: AlertChannelRecord, n: Notification, timeoutMs: number): Promise<string> {
  const config = channel.config as unknown as EmailConfig
  const { createTransport } = await import('nodemailer')
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: Boolean(config.secure),
    requireTLS: Boolean(config.starttls),
    tls: { rejectUnauthorized: config.tlsVerify !== false },
    ...(config.username ? { auth: { user: config.username, pass: channel.secret ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  })
  try {
    const info = await transport.sendMail({ from: config.from, to: config.to, subject: title(n), text: `${text(n)}\n\n${JSON.stringify(n, null, 2)}\n` })
    return `SMTP ${String(info.response ?? 'accepted').slice(0, 200)}`
  } finally {
    transport.close()
  }
}

export function send(channel: AlertChannelRecord, n: Notification, timeoutMs: number): Promise<string> {
  return channel.type === 'email' ? sendEmail(channel, n, timeoutMs) : sendWebhook(channel, n, timeoutMs)
}
