// Alerts: what is firing, the history, and their management — rules, notification channels (with
// "send test", health and last attempts; secrets are never shown again) and silences.
import { api, asList, enc } from '../lib/api.js'
import { h, replace, toast } from '../lib/dom.js'
import { ago, dateTime, DASH } from '../lib/format.js'

const KINDS = [
  ['node_offline', 'Node offline'], ['cpu', 'CPU above'], ['memory', 'Memory above'], ['disk', 'Disk above'], ['container_stopped', 'Container stopped'],
  ['container_unhealthy', 'Container unhealthy'], ['container_restarting', 'Container restarting'], ['midtier_disconnected', 'Mid-tier disconnected'], ['cert_expiring', 'Certificate expiring'],
]
const label = (/** @type {string} */ kind) => KINDS.find(([k]) => k === kind)?.[1] ?? kind

/** @param {string} id @param {string} text @param {HTMLElement} control */
const field = (id, text, control) => h('div', { class: 'field inline' }, h('label', { for: id }, text), control)
/** @param {string} id @param {Record<string, unknown>} [attrs] */
const input = (id, attrs = {}) => /** @type {HTMLInputElement} */ (h('input', { id, name: id, autocomplete: 'off', ...attrs }))
/** @param {any[][]} rows @param {string[]} head @param {string} caption */
const grid = (caption, head, rows) =>
  h('div', { class: 'table-wrap' }, h('table', { class: 'grid cardify' }, h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
    h('tbody', null, rows.map((cells) => h('tr', null, cells.map((c, i) => h('td', { 'data-label': head[i] || 'Actions' }, c ?? DASH)))))))

/** @param {() => Promise<unknown>} fn @param {string} done */
async function act(fn, done) {
  try {
    await fn()
    toast(done)
    return true
  } catch (e) {
    toast(/** @type {Error} */ (e).message, 'error')
    return false
  }
}

/** @type {import('../app.js').ViewFactory} */
export default async function alertsPage() {
  const firingBox = h('div')
  const historyBox = h('div')
  const rulesBox = h('div')
  const channelsBox = h('div')
  const silencesBox = h('div')
  /** @type {any[]} */
  let channels = []

  async function load() {
    const [alerts, rules, chans, silences] = await Promise.all([
      api('GET', '/api/alerts?limit=200').then((d) => asList(d, 'alerts')),
      api('GET', '/api/alerts/rules').then((d) => asList(d, 'rules')),
      api('GET', '/api/alerts/channels').then((d) => asList(d, 'channels')),
      api('GET', '/api/alerts/silences').then((d) => asList(d, 'silences')),
    ])
    channels = chans
    const firing = alerts.filter((a) => a.state === 'firing')
    replace(firingBox, firing.length
      ? grid('Firing alerts', ['Since', 'Rule', 'What', ''], firing.map((a) => [dateTime(a.startedAt), a.ruleName, a.message, a.silenced ? h('span', { class: 'badge', 'data-status': 'stopped' }, 'silenced') : null]))
      : h('p', { class: 'muted' }, 'Nothing is firing.'))
    replace(historyBox, alerts.length
      ? grid('Alert history', ['Started', 'Resolved', 'Rule', 'What'], alerts.slice(0, 100).map((a) => [dateTime(a.startedAt), a.resolvedAt ? dateTime(a.resolvedAt) : h('span', { class: 'badge', 'data-status': 'error' }, 'firing'), a.ruleName, a.message]))
      : h('p', { class: 'muted' }, 'No alerts yet.'))
    const channelName = (/** @type {string} */ id) => channels.find((c) => c.id === id)?.name ?? id
    replace(rulesBox, rules.length
      ? grid('Alert rules', ['Name', 'Watches', 'Scope', 'Threshold', 'For', 'Notifies', ''], rules.map((r) => [
          r.name, label(r.kind), r.scopeType === 'account' ? 'whole account' : `${r.scopeType} ${r.scopeValue}`, r.threshold ?? DASH, r.durationMs ? `${r.durationMs / 1000} s` : DASH,
          r.channelIds.map(channelName).join(', ') || DASH,
          h('div', { class: 'actions', 'data-needs': 'admin' },
            h('button', { type: 'button', class: 'small', onclick: async () => (await act(() => api('PATCH', `/api/alerts/rules/${enc(r.id)}`, { enabled: !r.enabled }), r.enabled ? 'Rule disabled.' : 'Rule enabled.')) && load() }, r.enabled ? 'Disable' : 'Enable'),
            h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete rule ${r.name}`, onclick: async () => confirm(`Delete rule ${r.name}?`) && (await act(() => api('DELETE', `/api/alerts/rules/${enc(r.id)}`), 'Rule deleted.')) && load() }, 'Delete')),
        ]))
      : h('p', { class: 'muted' }, 'No rules yet.'))
    replace(channelsBox, channels.length
      ? grid('Notification channels', ['Name', 'Kind', 'Sends to', 'Health', 'Last attempts', ''], channels.map((c) => [
          c.name, c.type === 'webhook' ? `webhook (${c.config.template})` : 'e-mail',
          h('span', { class: 'mono wrap' }, c.type === 'webhook' ? c.config.url : `${(c.config.to ?? []).join(', ')} via ${c.config.host}:${c.config.port}`),
          h('span', { class: 'badge', 'data-status': c.status === 'ok' ? 'running' : 'error' }, c.status === 'ok' ? 'ok' : `failing (${c.failures})`),
          c.lastAttempts.length ? h('ul', { class: 'attempts' }, c.lastAttempts.slice(0, 3).map((/** @type {any} */ a) => h('li', { class: 'small' }, `${a.ok ? '✓' : '✗'} ${ago(a.at)}: ${a.detail}`))) : 'none yet',
          h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'small', 'data-needs': 'operator', onclick: async () => {
              const outcome = await api('POST', `/api/alerts/channels/${enc(c.id)}/test`)
              toast(outcome.ok ? `Test sent: ${outcome.detail}` : `Test failed: ${outcome.detail}`, outcome.ok ? 'ok' : 'error')
              await load()
            } }, 'Send test'),
            h('button', { type: 'button', class: 'small danger', 'data-needs': 'admin', 'aria-label': `Delete channel ${c.name}`, onclick: async () => confirm(`Delete channel ${c.name}?`) && (await act(() => api('DELETE', `/api/alerts/channels/${enc(c.id)}`), 'Channel deleted.')) && load() }, 'Delete')),
        ]))
      : h('p', { class: 'muted' }, 'No channels yet.'))
    replace(silencesBox, silences.length
      ? grid('Silences', ['Rule', 'About', 'Until', 'By', 'Why', ''], silences.map((s) => [
          s.ruleId ? rules.find((r) => r.id === s.ruleId)?.name ?? s.ruleId : 'every rule', s.subject ?? 'everything', dateTime(s.endsAt), s.createdBy, s.comment || DASH,
          h('button', { type: 'button', class: 'small', 'data-needs': 'operator', onclick: async () => (await act(() => api('DELETE', `/api/alerts/silences/${enc(s.id)}`), 'Silence ended.')) && load() }, 'End now'),
        ]))
      : h('p', { class: 'muted' }, 'No silences.'))
    syncChannelChoices()
  }

  // Forms: a rule, a channel, a silence.
  const ruleKind = /** @type {HTMLSelectElement} */ (h('select', { id: 'rule-kind' }, KINDS.map(([v, l]) => h('option', { value: v }, l))))
  const ruleScope = /** @type {HTMLSelectElement} */ (h('select', { id: 'rule-scope' }, ['account', 'cluster', 'node', 'stack'].map((v) => h('option', { value: v }, v))))
  const ruleTarget = input('rule-target', { placeholder: 'name (not for account)' })
  const ruleThreshold = input('rule-threshold', { type: 'number', min: '0', step: 'any', placeholder: 'default' })
  const ruleFor = input('rule-for', { placeholder: 'e.g. 5m' })
  const ruleChannel = /** @type {HTMLSelectElement} */ (h('select', { id: 'rule-channel' }))
  function syncChannelChoices() {
    replace(ruleChannel, h('option', { value: '' }, 'No notification'), channels.map((c) => h('option', { value: c.id }, c.name)))
  }
  const ruleForm = h('form', { class: 'filters', 'data-needs': 'admin', 'aria-label': 'Add a rule', onsubmit: async (/** @type {Event} */ e) => {
    e.preventDefault()
    const body = {
      kind: ruleKind.value,
      ...(ruleScope.value !== 'account' ? { scope: ruleScope.value, target: ruleTarget.value.trim() } : {}),
      ...(ruleThreshold.value ? { threshold: Number(ruleThreshold.value) } : {}),
      ...(ruleFor.value.trim() ? { for: ruleFor.value.trim() } : {}),
      ...(ruleChannel.value ? { channels: [ruleChannel.value] } : {}),
    }
    if (await act(() => api('POST', '/api/alerts/rules', body), 'Rule added.')) await load()
  } },
    field('rule-kind', 'Watch', ruleKind), field('rule-scope', 'Scope', ruleScope), field('rule-target', 'Target', ruleTarget),
    field('rule-threshold', 'Threshold', ruleThreshold), field('rule-for', 'For', ruleFor), field('rule-channel', 'Notify', ruleChannel),
    h('button', { type: 'submit' }, 'Add rule'))

  const chName = input('channel-name', { required: true, placeholder: 'e.g. ops-slack' })
  const chType = /** @type {HTMLSelectElement} */ (h('select', { id: 'channel-type' }, [['webhook', 'Webhook'], ['slack', 'Slack'], ['discord', 'Discord'], ['ntfy', 'ntfy'], ['email', 'E-mail (SMTP)']].map(([v, l]) => h('option', { value: v }, l))))
  const chUrl = input('channel-url', { type: 'url', placeholder: 'https://…' })
  const chSecret = input('channel-secret', { type: 'password', placeholder: 'signing secret (optional)', autocomplete: 'new-password' })
  const smtpHost = input('smtp-host', { placeholder: 'smtp.example.com' })
  const smtpPort = input('smtp-port', { type: 'number', min: '1', max: '65535', placeholder: '587' })
  const smtpUser = input('smtp-user')
  const smtpPass = input('smtp-pass', { type: 'password', autocomplete: 'new-password' })
  const smtpFrom = input('smtp-from', { type: 'email' })
  const smtpTo = input('smtp-to', { placeholder: 'ops@example.com, …' })
  const webhookFields = h('div', { class: 'filters' }, field('channel-url', 'URL', chUrl), field('channel-secret', 'Secret', chSecret))
  const emailFields = h('div', { class: 'filters', hidden: true },
    field('smtp-host', 'SMTP host', smtpHost), field('smtp-port', 'Port', smtpPort), field('smtp-user', 'User', smtpUser), field('smtp-pass', 'Password', smtpPass),
    field('smtp-from', 'From', smtpFrom), field('smtp-to', 'To', smtpTo))
  chType.addEventListener('change', () => {
    emailFields.hidden = chType.value !== 'email'
    webhookFields.hidden = chType.value === 'email'
  })
  const channelForm = h('form', { 'data-needs': 'admin', 'aria-label': 'Add a channel', onsubmit: async (/** @type {Event} */ e) => {
    e.preventDefault()
    const body = chType.value === 'email'
      ? { name: chName.value.trim(), type: 'email', host: smtpHost.value.trim(), ...(smtpPort.value ? { port: Number(smtpPort.value) } : {}), ...(smtpUser.value ? { username: smtpUser.value } : {}),
          ...(smtpPass.value ? { password: smtpPass.value } : {}), from: smtpFrom.value.trim(), to: smtpTo.value.split(',').map((s) => s.trim()).filter(Boolean) }
      : { name: chName.value.trim(), type: 'webhook', url: chUrl.value.trim(), template: chType.value === 'webhook' ? 'json' : chType.value, ...(chSecret.value ? { secret: chSecret.value } : {}) }
    if (await act(() => api('POST', '/api/alerts/channels', body), 'Channel added.')) {
      chSecret.value = ''
      smtpPass.value = ''
      await load()
    }
  } }, h('div', { class: 'filters' }, field('channel-name', 'Name', chName), field('channel-type', 'Kind', chType)), webhookFields, emailFields, h('button', { type: 'submit' }, 'Add channel'))

  const silRule = input('silence-rule', { placeholder: 'rule name (optional)' })
  const silSubject = input('silence-subject', { placeholder: 'node, stack or container (optional)' })
  const silFor = input('silence-for', { placeholder: '1h' })
  const silComment = input('silence-comment', { placeholder: 'why' })
  const silenceForm = h('form', { class: 'filters', 'data-needs': 'operator', 'aria-label': 'Add a silence', onsubmit: async (/** @type {Event} */ e) => {
    e.preventDefault()
    const body = { ...(silRule.value.trim() ? { rule: silRule.value.trim() } : {}), ...(silSubject.value.trim() ? { subject: silSubject.value.trim() } : {}), ...(silFor.value.trim() ? { for: silFor.value.trim() } : {}), ...(silComment.value.trim() ? { comment: silComment.value.trim() } : {}) }
    if (await act(() => api('POST', '/api/alerts/silences', body), 'Silenced.')) await load()
  } }, field('silence-rule', 'Rule', silRule), field('silence-subject', 'About', silSubject), field('silence-for', 'For', silFor), field('silence-comment', 'Why', silComment), h('button', { type: 'submit' }, 'Silence'))

  await load()
  const timer = setInterval(() => void load().catch(() => {}), 15000)
  return {
    el: h('section', { class: 'page alerts-page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Alerts')),
      h('section', { 'aria-labelledby': 'firing-title' }, h('h2', { id: 'firing-title' }, 'Firing now'), firingBox),
      h('section', { 'aria-labelledby': 'rules-title' }, h('h2', { id: 'rules-title' }, 'Rules'), rulesBox, ruleForm),
      h('section', { 'aria-labelledby': 'channels-title' }, h('h2', { id: 'channels-title' }, 'Channels'), channelsBox, channelForm),
      h('section', { 'aria-labelledby': 'silences-title' }, h('h2', { id: 'silences-title' }, 'Silences'), silencesBox, silenceForm),
      h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'History'), historyBox)),
    dispose: () => clearInterval(timer),
  }
}
