// What the hub writes to the event log for each fleet lifecycle event plugins emit on the bus: node
// online vs reconnect (with the transport), offline, mid-tier connections, container events with exit
// codes, deploys, updates, rollbacks, key revocations — each in one sentence, per account.
import { createConsola } from 'consola'
import { describe, expect, it } from 'vitest'
import { createEventBus, type ThreshEvents } from '../../core/index.ts'
import { createMemoryStore } from '../../plugins/storage-memory/index.ts'
import { createEventRecorder } from '../../plugins/hub-alerts/recorder.ts'
import '../../plugins/hub-alerts/index.ts'

describe('the fleet event log', () => {
  it('records the lifecycle the bus carries, per account, in order', async () => {
    const store = createMemoryStore()
    for (const id of ['a', 'b']) await store.createAccount({ id, name: id, createdAt: new Date().toISOString() })
    const bus = createEventBus<ThreshEvents>()
    const recorder = createEventRecorder(store, bus, createConsola({ level: -999 }), 10)
    bus.emit('node:registered', { accountId: 'a', nodeId: 'n1', hostname: 'web-1', connectionTier: 'hub', transport: 'signalr' })
    bus.emit('node:offline', { accountId: 'a', nodeId: 'n1', reason: 'disconnected' })
    bus.emit('node:registered', { accountId: 'a', nodeId: 'n1', hostname: 'web-1', connectionTier: 'midtier-east', transport: 'rest' })
    bus.emit('midtier:connection', { accountId: 'a', midtierId: 'midtier-east', connected: false })
    bus.emit('node:events', { accountId: 'a', nodeId: 'n1', events: [{ type: 'container_die', at: new Date().toISOString(), container: 'shop-web', stack: 'shop', exitCode: 137 }] })
    bus.emit('stack:updated', { accountId: 'a', stackId: 's1', name: 'shop', nodeId: 'n1', commandId: 'c1', service: 'web', image: 'nginx:1.27' })
    bus.emit('stack:failed', { accountId: 'a', stackId: 's1', name: 'shop', nodeId: 'n1', commandId: 'c2', operation: 'update_service', reason: 'web on nginx:bad failed to start (exit 1); rolled back to nginx:1.27', timedOut: false, failedServices: [] })
    bus.emit('auth:key-revoked', { accountId: 'b', keyId: 'k1', reason: 'revoked by admin' })
    await recorder.close()

    const a = (await store.listEvents('a')).reverse()
    expect(a.map((e) => e.kind)).toEqual(['node_online', 'node_offline', 'node_reconnect', 'midtier_disconnected', 'container_die', 'stack_updated', 'stack_rollback'])
    expect(a.map((e) => e.message)).toEqual([
      'web-1 is online through the hub over signalr.',
      'web-1 is offline (its connection closed).',
      'web-1 reconnected through midtier-east over rest.',
      'Mid-tier midtier-east disconnected.',
      'shop-web exited with code 137 on web-1.',
      'Stack shop: web updated to nginx:1.27.',
      'Stack shop: the update was rolled back (web on nginx:bad failed to start (exit 1); rolled back to nginx:1.27)',
    ])
    expect(a[4]).toMatchObject({ nodeId: 'n1', stack: 'shop', severity: 'warning', details: { exitCode: 137, container: 'shop-web' } })
    expect(a[2]!.details).toEqual({ connectionTier: 'midtier-east', transport: 'rest' })
    expect((await store.listEvents('b')).map((e) => e.kind)).toEqual(['key_revoked'])
  })
})
