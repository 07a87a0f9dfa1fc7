// Conformance cases for the event log and alerting (part of test/storage/conformance.ts).
import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import type { AlertRecord, DeliveryRecord, FleetStore } from '../../lib/storage/index.ts'

const iso = (ms: number) => new Date(ms).toISOString()
const id = (prefix: string) => `${prefix}-${randomUUID()}`

export function alertingCases(store: () => FleetStore, account: (label?: string) => Promise<{ id: string }>): void {
  it('keeps fleet events per account, newest first, filtered by node, stack, time and kind, paged and followed, and pruned by age', async () => {
    const a = await account('events')
    const b = await account('events-other')
    const t = Date.now() - 60_000
    await store().appendEvents(a.id, [
      { at: iso(t), kind: 'node_online', severity: 'info', nodeId: 'n1', message: 'n1 is online' },
      { at: iso(t + 1000), kind: 'container_die', severity: 'warning', nodeId: 'n1', stack: 'web', message: 'web-1 exited with code 137', details: { exitCode: 137 } },
      { at: iso(t + 2000), kind: 'stack_deployed', severity: 'info', nodeId: 'n2', stack: 'web', message: 'deployed' },
    ])
    await store().appendEvents(b.id, [{ at: iso(t), kind: 'node_online', severity: 'info', nodeId: 'n1', message: 'other' }])
    const all = await store().listEvents(a.id)
    expect(all.map((e) => e.kind)).toEqual(['stack_deployed', 'container_die', 'node_online'])
    expect(all[1]).toMatchObject({ accountId: a.id, nodeId: 'n1', stack: 'web', details: { exitCode: 137 }, at: iso(t + 1000) })
    expect((await store().listEvents(a.id, { nodeId: 'n1' })).map((e) => e.kind)).toEqual(['container_die', 'node_online'])
    expect((await store().listEvents(a.id, { stack: 'web' })).length).toBe(2)
    expect((await store().listEvents(a.id, { since: iso(t + 1500) })).map((e) => e.kind)).toEqual(['stack_deployed'])
    expect((await store().listEvents(a.id, { kinds: ['node_online'] })).length).toBe(1)
    const page = await store().listEvents(a.id, { limit: 1, before: all[0]!.id })
    expect(page.map((e) => e.kind)).toEqual(['container_die'])
    expect((await store().listEvents(a.id, { after: all[2]!.id })).map((e) => e.kind)).toEqual(['container_die', 'stack_deployed'])
    expect((await store().listEvents(b.id)).map((e) => e.message)).toEqual(['other'])
    expect(await store().pruneEvents(iso(t + 500))).toBeGreaterThanOrEqual(2)
    expect((await store().listEvents(a.id)).map((e) => e.kind)).toEqual(['stack_deployed', 'container_die'])
  })

  it('keeps alert rules, channels (with their secret) and silences per account', async () => {
    const a = await account('alerts')
    const b = await account('alerts-other')
    const now = new Date().toISOString()
    const rule = await store().createAlertRule({
      id: id('rule'), accountId: a.id, name: 'cpu hot', kind: 'cpu', scopeType: 'node', scopeValue: 'web-1', threshold: 90, durationMs: 60_000, channelIds: ['c1'], enabled: true, createdAt: now,
    })
    expect(await store().getAlertRule(a.id, rule.id)).toEqual(rule)
    expect(await store().getAlertRule(b.id, rule.id)).toBeUndefined()
    expect(await store().updateAlertRule(a.id, rule.id, { enabled: false })).toBe(true)
    expect((await store().listEnabledAlertRules()).some((r) => r.id === rule.id)).toBe(false)
    const channel = await store().createAlertChannel({
      id: id('chan'), accountId: a.id, name: 'hooks', type: 'webhook', config: { url: 'https://example.test/h', template: 'json' }, secret: 's3cret', status: 'ok', failures: 0, lastAttempts: [], createdAt: now,
    })
    expect((await store().listAlertChannels(a.id))[0]).toEqual(channel)
    await store().updateAlertChannel(a.id, channel.id, { status: 'failing', failures: 3, lastAttempts: [{ at: now, ok: false, detail: 'HTTP 500', deliveryId: 'd' }] })
    expect(await store().getAlertChannel(a.id, channel.id)).toMatchObject({ status: 'failing', failures: 3, secret: 's3cret' })
    expect(await store().listAlertChannels(b.id)).toEqual([])
    const silence = await store().createSilence({ id: id('sil'), accountId: a.id, ruleId: rule.id, endsAt: iso(Date.now() + 3_600_000), comment: 'maintenance', createdBy: 'admin', createdAt: now })
    expect(await store().listSilences(a.id)).toEqual([silence])
    expect(await store().deleteSilence(b.id, silence.id)).toBe(false)
    expect(await store().deleteSilence(a.id, silence.id)).toBe(true)
    expect(await store().deleteAlertRule(a.id, rule.id)).toBe(true)
    expect(await store().deleteAlertChannel(a.id, channel.id)).toBe(true)
  })

  it('fires one alert per rule and subject at a time, resolves it once, and keeps the history', async () => {
    const a = await account('history')
    const alert = (over: Partial<AlertRecord> = {}): AlertRecord => ({
      id: id('alert'), accountId: a.id, ruleId: 'r1', ruleName: 'offline', kind: 'node_offline', subject: 'node:n1', state: 'firing', severity: 'critical',
      message: 'n1 is offline', startedAt: new Date().toISOString(), silenced: false, ...over,
    })
    const first = await store().openAlert(alert())
    expect(first?.state).toBe('firing')
    expect(await store().openAlert(alert())).toBeUndefined()
    expect((await store().listFiringAlerts()).filter((x) => x.accountId === a.id).length).toBe(1)
    expect(await store().resolveAlert(a.id, first!.id, new Date().toISOString())).toBe(true)
    expect(await store().resolveAlert(a.id, first!.id, new Date().toISOString())).toBe(false)
    const again = await store().openAlert(alert({ silenced: true }))
    expect(again).toBeDefined()
    // Its silence ended while it fires: unsilenced once (a second hub asking after that is told no).
    expect(await store().unsilenceAlert(a.id, again!.id)).toBe(true)
    expect(await store().unsilenceAlert(a.id, again!.id)).toBe(false)
    expect((await store().listFiringAlerts()).find((x) => x.id === again!.id)?.silenced).toBe(false)
    expect((await store().listAlerts(a.id)).map((x) => x.state).sort()).toEqual(['firing', 'resolved'])
    expect((await store().listAlerts(a.id, { state: 'resolved' }))[0]?.resolvedAt).toBeDefined()
  })

  it('queues deliveries, leases each to one claimer, and keeps what was delivered', async () => {
    const a = await account('deliveries')
    const now = Date.now()
    const delivery = (over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
      id: id('dlv'), accountId: a.id, channelId: 'c1', event: 'firing', payload: { text: 'hi' }, status: 'pending', attempts: 0, nextAttemptAt: iso(now - 1000), createdAt: iso(now - 1000), ...over,
    })
    const due = delivery()
    const later = delivery({ nextAttemptAt: iso(now + 60_000) })
    await store().enqueueDeliveries([due, later])
    const claimed = (await store().claimDeliveries(iso(now), 30_000, 100)).filter((d) => d.accountId === a.id)
    expect(claimed.map((d) => d.id)).toEqual([due.id])
    expect(claimed[0]!.payload).toEqual({ text: 'hi' })
    expect((await store().claimDeliveries(iso(now), 30_000, 100)).filter((d) => d.accountId === a.id)).toEqual([])
    // After the lease ran out (a hub that died mid-send), it is due again.
    expect((await store().claimDeliveries(iso(now + 31_000), 30_000, 100)).filter((d) => d.accountId === a.id).map((d) => d.id)).toEqual([due.id])
    await store().updateDelivery(due.id, { status: 'delivered', attempts: 1, deliveredAt: iso(now) })
    expect((await store().claimDeliveries(iso(now + 120_000), 30_000, 100)).filter((d) => d.accountId === a.id).map((d) => d.id)).toEqual([later.id])
    const listed = await store().listDeliveries(a.id)
    expect(listed.find((d) => d.id === due.id)).toMatchObject({ status: 'delivered', attempts: 1 })
  })
}
