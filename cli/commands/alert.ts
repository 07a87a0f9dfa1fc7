// `thresh alert list|rule|channel|silence …`: alert rules, notification channels (with "send test"),
// silences and the alert history.
import process from 'node:process'
import { defineCommand } from 'citty'
import { createHubClient, hubArgs, jsonArg, listOf, seg } from '../hub-client.ts'
import { age, print, printJson, table } from '../table.ts'

type Row = Record<string, any>

const idArg = (what: string) => ({ id: { type: 'positional', description: `${what} id or name`, required: true } }) as const

const formatFor = (ms: unknown) => {
  const n = Number(ms)
  if (!Number.isFinite(n) || n === 0) return '-'
  return n % 3_600_000 === 0 ? `${n / 3_600_000}h` : n % 60_000 === 0 ? `${n / 60_000}m` : `${n / 1000}s`
}

const list = defineCommand({
  meta: { name: 'list', description: 'Alerts, newest first (--firing for the active ones)' },
  args: { firing: { type: 'boolean', description: 'only firing alerts' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const alerts = listOf<Row>(await createHubClient(args).get('/api/alerts', { query: { state: args.firing ? 'firing' : undefined } }), 'alerts')
    if (args.json) return printJson(alerts)
    if (alerts.length === 0) return print(args.firing ? 'No alerts are firing.' : 'No alerts yet.')
    print(table([['STATE', 'RULE', 'SUBJECT', 'STARTED', 'MESSAGE'], ...alerts.map((a) => [a.state + (a.silenced ? ' (silenced)' : ''), a.ruleName, a.subject, age(a.startedAt), a.message])]))
  },
})

const ruleList = defineCommand({
  meta: { name: 'list', description: 'List alert rules' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const rules = listOf<Row>(await createHubClient(args).get('/api/alerts/rules'), 'rules')
    if (args.json) return printJson(rules)
    if (rules.length === 0) return print('No alert rules yet: add one with thresh alert rule add KIND.')
    print(
      table([
        ['ID', 'NAME', 'KIND', 'SCOPE', 'THRESHOLD', 'FOR', 'CHANNELS', 'ENABLED'],
        ...rules.map((r) => [r.id, r.name, r.kind, r.scopeType === 'account' ? 'account' : `${r.scopeType} ${r.scopeValue}`, r.threshold ?? '-', formatFor(r.durationMs), String(r.channelIds.length), r.enabled ? 'yes' : 'no']),
      ]),
    )
  },
})

const ruleAdd = defineCommand({
  meta: { name: 'add', description: 'Add a rule: node_offline, cpu, memory, disk, container_stopped, container_unhealthy, container_restarting, midtier_disconnected, cert_expiring' },
  args: {
    kind: { type: 'positional', description: 'what to watch', required: true },
    name: { type: 'string', description: 'a name for the rule' },
    cluster: { type: 'string', description: 'only nodes of this cluster' },
    node: { type: 'string', description: 'only this node' },
    stack: { type: 'string', description: "only this stack's containers (or its node)" },
    threshold: { type: 'string', description: 'percent for cpu/memory/disk, restarts for container_restarting, days for cert_expiring' },
    for: { type: 'string', description: 'how long before it fires (30s, 5m)' },
    channel: { type: 'string', description: 'channels to notify (comma-separated ids or names)' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const scopes = (['cluster', 'node', 'stack'] as const).filter((s) => args[s])
    if (scopes.length > 1) throw new Error('Give at most one of --cluster, --node and --stack.')
    const scope = scopes[0]
    const threshold = args.threshold === undefined ? undefined : Number(args.threshold)
    if (threshold !== undefined && !Number.isFinite(threshold)) throw new Error('--threshold must be a number.')
    const rule = await createHubClient(args).post<Row>('/api/alerts/rules', {
      kind: args.kind,
      ...(args.name ? { name: args.name } : {}),
      ...(scope ? { scope, target: args[scope] } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(args.for ? { for: args.for } : {}),
      ...(args.channel ? { channels: String(args.channel).split(',').map((c) => c.trim()).filter(Boolean) } : {}),
    })
    if (args.json) return printJson(rule)
    print(`✓ Added rule ${rule.name} (${rule.id}).`)
  },
})

const toggle = (enabled: boolean) =>
  defineCommand({
    meta: { name: enabled ? 'enable' : 'disable', description: `${enabled ? 'Enable' : 'Disable'} a rule` },
    args: { ...idArg('rule'), ...hubArgs, ...jsonArg },
    async run({ args }) {
      const rule = await createHubClient(args).patch<Row>(`/api/alerts/rules/${seg(args.id)}`, { enabled })
      if (args.json) return printJson(rule)
      print(`✓ Rule ${rule.name} ${enabled ? 'enabled' : 'disabled'}.`)
    },
  })

const remove = (path: string, what: string) =>
  defineCommand({
    meta: { name: 'remove', description: `Remove a ${what}` },
    args: { ...idArg(what), ...hubArgs, ...jsonArg },
    async run({ args }) {
      const answer = await createHubClient(args).delete(`${path}/${seg(args.id)}`)
      if (args.json) return printJson(answer)
      print(`✓ Removed ${what} ${args.id}.`)
    },
  })

const channelList = defineCommand({
  meta: { name: 'list', description: 'List channels with their health and last attempt' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const channels = listOf<Row>(await createHubClient(args).get('/api/alerts/channels'), 'channels')
    if (args.json) return printJson(channels)
    if (channels.length === 0) return print('No channels yet: add one with thresh alert channel add NAME --webhook URL (or --smtp-host …).')
    print(
      table([
        ['ID', 'NAME', 'TYPE', 'TARGET', 'STATUS', 'LAST ATTEMPT'],
        ...channels.map((c) => {
          const last = c.lastAttempts?.[0]
          const target = c.type === 'webhook' ? `${c.config.url} (${c.config.template})` : `${(c.config.to ?? []).join(', ')} via ${c.config.host}:${c.config.port}`
          return [c.id, c.name, c.type, target, c.status, last ? `${last.ok ? 'ok' : 'failed'} ${age(last.at)} ago: ${last.detail}` : '-']
        }),
      ]),
    )
  },
})

const channelAdd = defineCommand({
  meta: { name: 'add', description: 'Add a webhook (--webhook URL) or e-mail (--smtp-host …) channel' },
  args: {
    name: { type: 'positional', description: 'channel name', required: true },
    webhook: { type: 'string', description: 'webhook URL' },
    template: { type: 'string', description: 'json (default), slack, discord or ntfy' },
    secret: { type: 'string', description: 'HMAC-SHA256 signing secret (X-Thresh-Signature); read from THRESH_WEBHOOK_SECRET if unset' },
    'smtp-host': { type: 'string', description: 'SMTP server' },
    'smtp-port': { type: 'string', description: 'SMTP port (587, or 465 with --smtp-secure)' },
    'smtp-secure': { type: 'boolean', description: 'TLS from the first byte (port 465)' },
    'smtp-starttls': { type: 'boolean', description: 'require STARTTLS (default unless --smtp-secure)', default: undefined },
    'smtp-user': { type: 'string', description: 'SMTP user; the password comes from THRESH_SMTP_PASSWORD' },
    'tls-verify': { type: 'boolean', description: 'verify the SMTP server certificate', default: true },
    from: { type: 'string', description: 'sender address' },
    to: { type: 'string', description: 'recipients (comma-separated)' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    let body: Row
    if (args.webhook) {
      const secret = args.secret ?? process.env.THRESH_WEBHOOK_SECRET
      body = { name: args.name, type: 'webhook', url: args.webhook, ...(args.template ? { template: args.template } : {}), ...(secret ? { secret } : {}) }
    } else if (args['smtp-host']) {
      const port = args['smtp-port'] ? Number(args['smtp-port']) : undefined
      if (port !== undefined && !Number.isInteger(port)) throw new Error('--smtp-port must be a port number.')
      const password = process.env.THRESH_SMTP_PASSWORD
      body = {
        name: args.name,
        type: 'email',
        host: args['smtp-host'],
        ...(port ? { port } : {}),
        secure: Boolean(args['smtp-secure']),
        ...(args['smtp-starttls'] !== undefined ? { starttls: Boolean(args['smtp-starttls']) } : {}),
        tlsVerify: args['tls-verify'] !== false,
        ...(args['smtp-user'] ? { username: args['smtp-user'] } : {}),
        ...(password ? { password } : {}),
        from: args.from,
        to: String(args.to ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      }
    } else throw new Error('Give --webhook URL or --smtp-host HOST (with --from and --to).')
    const channel = await createHubClient(args).post<Row>('/api/alerts/channels', body)
    if (args.json) return printJson(channel)
    print(`✓ Added channel ${channel.name} (${channel.id}).`)
  },
})

const channelTest = defineCommand({
  meta: { name: 'test', description: 'Send a test notification through a channel' },
  args: { ...idArg('channel'), ...hubArgs, ...jsonArg },
  async run({ args }) {
    const outcome = await createHubClient(args).post<{ ok: boolean; detail: string }>(`/api/alerts/channels/${seg(args.id)}/test`, undefined, { timeoutMs: 60_000 })
    if (args.json) return printJson(outcome)
    if (!outcome.ok) throw new Error(`The test notification failed: ${outcome.detail}`)
    print(`✓ Test notification sent (${outcome.detail}).`)
  },
})

const silenceList = defineCommand({
  meta: { name: 'list', description: 'List silences' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const silences = listOf<Row>(await createHubClient(args).get('/api/alerts/silences'), 'silences')
    if (args.json) return printJson(silences)
    if (silences.length === 0) return print('No silences.')
    print(table([['ID', 'RULE', 'SUBJECT', 'ENDS', 'BY', 'COMMENT'], ...silences.map((s) => [s.id, s.ruleId ?? 'any', s.subject ?? 'any', s.endsAt, s.createdBy, s.comment || '-'])]))
  },
})

const silenceAdd = defineCommand({
  meta: { name: 'add', description: 'Silence alerts of a rule and/or about a node, stack or container' },
  args: {
    rule: { type: 'string', description: 'rule id or name' },
    subject: { type: 'string', description: 'node, stack or container name' },
    for: { type: 'string', description: 'how long (default 1h)' },
    until: { type: 'string', description: 'or until this time (ISO-8601)' },
    comment: { type: 'string', description: 'why' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const silence = await createHubClient(args).post<Row>('/api/alerts/silences', {
      ...(args.rule ? { rule: args.rule } : {}),
      ...(args.subject ? { subject: args.subject } : {}),
      ...(args.for ? { for: args.for } : {}),
      ...(args.until ? { until: args.until } : {}),
      ...(args.comment ? { comment: args.comment } : {}),
    })
    if (args.json) return printJson(silence)
    print(`✓ Silenced until ${silence.endsAt} (${silence.id}).`)
  },
})

export default defineCommand({
  meta: { name: 'alert', description: 'Alerts, alert rules, notification channels and silences' },
  subCommands: {
    list,
    rule: defineCommand({ meta: { name: 'rule', description: 'Alert rules' }, subCommands: { list: ruleList, add: ruleAdd, enable: toggle(true), disable: toggle(false), remove: remove('/api/alerts/rules', 'rule') } }),
    channel: defineCommand({ meta: { name: 'channel', description: 'Notification channels' }, subCommands: { list: channelList, add: channelAdd, test: channelTest, remove: remove('/api/alerts/channels', 'channel') } }),
    silence: defineCommand({ meta: { name: 'silence', description: 'Silences' }, subCommands: { list: silenceList, add: silenceAdd, remove: remove('/api/alerts/silences', 'silence') } }),
  },
})
