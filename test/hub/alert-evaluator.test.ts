// The alert evaluator's state machine on the memory store, with the clock passed in: a measured value
// must hold above the threshold for the rule's window before it fires, fires once, and resolves once
// only after falling clearly (5 points) below it for the clear window; a silence keeps it quiet; an
// expiring certificate fires at once. (The same rules against real processes: test/e2e/alerts.test.ts.)
import { describe, expect, it } from 'vitest'
import { createConsola } from 'consola'
import type { AlertRecord, EventInput } from '../../lib/storage/index.ts'
import { createMemoryStore } from '../../plugins/storage-memory/index.ts'
import { createEvaluator, createFleetState } from '../../plugins/hub-alerts/index.ts'

const S = 1000

async function setup(certificates: Array<{ subject: string; name: string; notAfter: number }> = []) {
  const store = createMemoryStore()
  await store.createAccount({ id: 'acct', name: 'acct', createdAt: new Date().toISOString() })
  await store.upsertNode({ id: 'n1', accountId: 'acct', hostname: 'web-1' })
  const notified: Array<{ event: string; alert: AlertRecord }> = []
  const recorded: EventInput[] = []
  const fleet = createFleetState()
  const evaluator = createEvaluator({
    store,
    fleet,
    logger: createConsola({ level: -999 }),
    certificates: () => certificates,
    record: (_accountId, event) => void recorded.push(event),
    notify: async (_rule, alert, event) => void notified.push({ event, alert }),
  })
  const cpu = (value: number, at: number) => store.appendMetrics('acct', [{ agentId: 'n1', timestamp: new Date(at).toISOString(), cpuPercent: value, memoryUsedMB: 1, memoryTotalMB: 2, diskUsedGB: 1, diskTotalGB: 2, containersRunning: 0 }])
  return { store, evaluator, notified, recorded, cpu, fleet }
}

describe('alert evaluation', () => {
  it('fires a CPU rule only after the window, once, and resolves once it is clearly below for the clear window', async () => {
    const { store, evaluator, notified, recorded, cpu } = await setup()
    await store.createAlertRule({ id: 'r1', accountId: 'acct', name: 'hot', kind: 'cpu', scopeType: 'node', scopeValue: 'web-1', threshold: 80, durationMs: 30 * S, channelIds: ['c'], enabled: true, createdAt: new Date().toISOString() })
    const t0 = Date.now()
    const at = async (seconds: number, value: number) => {
      await cpu(value, t0 + seconds * S)
      await evaluator.tick(t0 + seconds * S)
    }
    await at(0, 85)
    await at(20, 79) // dipped under the threshold before the window ended: no alert, the window starts again
    await at(40, 85)
    await at(60, 90)
    expect(notified).toEqual([])
    await at(70, 86)
    expect(notified.map((n) => n.event)).toEqual(['firing'])
    await at(80, 78) // under the threshold but not 5 points under: still firing
    await at(90, 74)
    await at(100, 74)
    expect(notified.map((n) => n.event)).toEqual(['firing'])
    await at(110, 82) // back up before the clear window ended
    await at(120, 70)
    await at(150, 70)
    expect(notified.map((n) => n.event)).toEqual(['firing', 'resolved'])
    await at(160, 70)
    expect(notified).toHaveLength(2)
    expect(recorded.map((e) => e.kind)).toEqual(['alert_firing', 'alert_resolved'])
    const [alert] = await store.listAlerts('acct')
    expect(alert).toMatchObject({ state: 'resolved', startedAt: new Date(t0 + 70 * S).toISOString(), resolvedAt: new Date(t0 + 150 * S).toISOString() })
  })

  it('records a silenced alert without notifying, and does not fire again after a restart while it is firing', async () => {
    const { store, evaluator, notified, cpu } = await setup()
    await store.createAlertRule({ id: 'r2', accountId: 'acct', name: 'hot', kind: 'cpu', scopeType: 'account', threshold: 50, durationMs: 0, channelIds: ['c'], enabled: true, createdAt: new Date().toISOString() })
    await store.createSilence({ id: 's1', accountId: 'acct', subject: 'web-1', endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: '', createdBy: 'admin', createdAt: new Date().toISOString() })
    const t0 = Date.now()
    await cpu(99, t0)
    await evaluator.tick(t0)
    expect(notified).toEqual([])
    expect((await store.listAlerts('acct'))[0]).toMatchObject({ state: 'firing', silenced: true })

    const again = createEvaluator({ store, fleet: createFleetState(), logger: createConsola({ level: -999 }), record: () => {}, notify: async (_r, alert, event) => void notified.push({ event, alert }) })
    await again.restore()
    await again.tick(t0 + S)
    expect(await store.listAlerts('acct')).toHaveLength(1)
  })

  it('notifies an alert that still fires when its silence ends, once, and its resolution after', async () => {
    const { store, evaluator, notified, cpu } = await setup()
    await store.createAlertRule({ id: 'r3', accountId: 'acct', name: 'hot', kind: 'cpu', scopeType: 'account', threshold: 50, durationMs: 0, channelIds: ['c'], enabled: true, createdAt: new Date().toISOString() })
    const t0 = Date.now()
    await store.createSilence({ id: 's2', accountId: 'acct', ruleId: 'r3', endsAt: new Date(t0 + 60 * S).toISOString(), comment: 'maintenance', createdBy: 'admin', createdAt: new Date().toISOString() })
    const at = async (seconds: number, value: number) => {
      await cpu(value, t0 + seconds * S)
      await evaluator.tick(t0 + seconds * S)
    }
    await at(0, 99)
    await at(30, 99)
    expect(notified).toEqual([])
    await at(61, 99) // the silence ended an instant ago; still hot
    expect(notified.map((n) => [n.event, n.alert.silenced])).toEqual([['firing', false]])
    await at(90, 99)
    expect(notified).toHaveLength(1)
    expect((await store.listAlerts('acct'))[0]).toMatchObject({ state: 'firing', silenced: false })
    await at(100, 10)
    await at(200, 10)
    expect(notified.map((n) => n.event)).toEqual(['firing', 'resolved'])
  })

  it('fires container unhealthy after its window, restarting past N restarts in D, and mid-tier disconnected, within a cluster scope', async () => {
    const { store, evaluator, notified, fleet } = await setup()
    await store.upsertNode({ id: 'n2', accountId: 'acct', hostname: 'web-2' })
    await store.createCluster({ id: 'cl1', accountId: 'acct', name: 'edge', description: '', createdAt: new Date().toISOString() })
    await store.setNodeCluster('acct', 'n1', 'cl1')
    const rule = (id: string, kind: string, over: Record<string, unknown> = {}) =>
      store.createAlertRule({ id, accountId: 'acct', name: id, kind: kind as never, scopeType: 'cluster', scopeValue: 'edge', durationMs: 30 * S, channelIds: ['c'], enabled: true, createdAt: new Date().toISOString(), ...over })
    await rule('sick', 'container_unhealthy')
    await rule('flappy', 'container_restarting', { threshold: 2, durationMs: 60 * S })
    await rule('relay', 'midtier_disconnected', { scopeType: 'account', scopeValue: undefined })
    const t0 = Date.now()
    const event = (nodeId: string, kind: string, seconds: number, details: Record<string, unknown>) =>
      fleet.observe('acct', { at: new Date(t0 + seconds * S).toISOString(), kind, severity: 'info', nodeId, message: kind, details })
    const fired = () => notified.filter((n) => n.event === 'firing').map((n) => `${n.alert.ruleId} ${n.alert.subject}`).sort()

    event('n1', 'container_start', 0, { container: 'api' })
    event('n1', 'container_health', 1, { container: 'api', health: 'unhealthy' })
    // The same on web-2, outside the cluster: never an alert.
    event('n2', 'container_start', 0, { container: 'api' })
    event('n2', 'container_health', 1, { container: 'api', health: 'unhealthy' })
    await evaluator.tick(t0 + 10 * S)
    expect(fired()).toEqual([])
    await evaluator.tick(t0 + 32 * S)
    expect(fired()).toEqual(['sick container:n1/api'])

    // Three starts in a minute are two restarts: not more than 2 yet. A fourth start is.
    for (const [i, at] of [0, 10, 20].entries()) event('n1', 'container_start', at + i, { container: 'worker' })
    await evaluator.tick(t0 + 33 * S)
    expect(fired()).not.toContain('flappy container:n1/worker')
    event('n1', 'container_start', 34, { container: 'worker' })
    await evaluator.tick(t0 + 35 * S)
    expect(fired()).toContain('flappy container:n1/worker')

    fleet.observe('acct', { at: new Date(t0).toISOString(), kind: 'midtier_connected', severity: 'info', message: 'up', details: { midtierId: 'mid-1' } })
    fleet.observe('acct', { at: new Date(t0 + 36 * S).toISOString(), kind: 'midtier_disconnected', severity: 'warning', message: 'down', details: { midtierId: 'mid-1' } })
    await evaluator.tick(t0 + 50 * S)
    expect(fired()).not.toContain('relay midtier:mid-1')
    await evaluator.tick(t0 + 67 * S)
    expect(fired()).toContain('relay midtier:mid-1')
    fleet.observe('acct', { at: new Date(t0 + 70 * S).toISOString(), kind: 'midtier_connected', severity: 'info', message: 'up', details: { midtierId: 'mid-1' } })
    await evaluator.tick(t0 + 71 * S)
    // (The first start of `worker` left the 60 s window by now: two restarts, no longer more than 2.)
    expect(notified.filter((n) => n.event === 'resolved').map((n) => n.alert.ruleId).sort()).toEqual(['flappy', 'relay'])
  })

  it('resolves "container stopped" for a crashed container once its stack is destroyed, and never fires for a stop that was asked for', async () => {
    const { store, evaluator, notified, fleet } = await setup()
    await store.createAlertRule({ id: 'r4', accountId: 'acct', name: 'down', kind: 'container_stopped', scopeType: 'account', durationMs: 0, channelIds: ['c'], enabled: true, createdAt: new Date().toISOString() })
    const t0 = Date.now()
    const event = (kind: string, seconds: number, details: Record<string, unknown>, stack = 'shop') =>
      fleet.observe('acct', { at: new Date(t0 + seconds * S).toISOString(), kind, severity: 'info', nodeId: 'n1', stack, message: kind, details })
    event('container_start', 0, { container: 'db' })
    event('container_start', 0, { container: 'web' })
    event('container_die', 1, { container: 'db', exitCode: 1 })
    event('container_die', 1, { container: 'web', exitCode: 143, requested: true })
    await evaluator.tick(t0 + 2 * S)
    expect(notified.map((n) => `${n.event} ${n.alert.subject}`)).toEqual(['firing container:n1/db'])
    fleet.observe('acct', { at: new Date(t0 + 3 * S).toISOString(), kind: 'stack_destroyed', severity: 'info', nodeId: 'n1', stack: 'shop', message: 'gone' })
    await evaluator.tick(t0 + 4 * S)
    expect(notified.map((n) => `${n.event} ${n.alert.subject}`)).toEqual(['firing container:n1/db', 'resolved container:n1/db'])
  })

  it('fires "certificate expiring" for the hub and for a mid-tier whose certificate has fewer days left than the threshold', async () => {
    const { store, evaluator, notified, fleet } = await setup([{ subject: 'cert:hub', name: 'hub', notAfter: Date.now() + 5 * 86_400_000 }])
    const at = new Date().toISOString()
    fleet.observe('acct', { at, kind: 'midtier_connected', severity: 'info', message: '', details: { midtierId: 'midtier-east', certificateExpiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString() } })
    fleet.observe('acct', { at, kind: 'midtier_connected', severity: 'info', message: '', details: { midtierId: 'midtier-west', certificateExpiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString() } })
    await store.createAlertRule({ id: 'r3', accountId: 'acct', name: 'cert', kind: 'cert_expiring', scopeType: 'account', threshold: 14, durationMs: 0, channelIds: ['c'], enabled: true, createdAt: new Date().toISOString() })
    await evaluator.tick()
    expect(notified.map((n) => n.alert.subject).sort()).toEqual(['cert:hub', 'cert:midtier-east'])
    expect(notified.find((n) => n.alert.subject === 'cert:hub')?.alert.message).toMatch(/certificate of hub expires .*\((4|5) days left\)/)
    expect(notified.find((n) => n.alert.subject === 'cert:midtier-east')?.alert.message).toMatch(/mid-tier midtier-east expires .*\((2|3) days left\)/)
  })
})
