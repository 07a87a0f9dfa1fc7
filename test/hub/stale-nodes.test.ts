// Nodes that stop reporting go offline after the offline window and are removed after the stale
// window (both configurable), while the rest of the fleet stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAgent, eventually, metricsSample, startHub, type TestHub } from './support.ts'

let hub: TestHub
beforeAll(async () => {
  hub = await startHub({ storage: 'memory', config: { offlineAfter: '1s', staleAfter: '3s' } })
}, 60_000)
afterAll(async () => {
  await hub?.stop()
})

describe('stale nodes', () => {
  it('go offline, then are pruned after the stale window, while a reporting node stays', async () => {
    const token = await hub.login()
    const key = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'stale' } })).body.key
    const leaving = await connectAgent(hub, key, 'leaving-node')
    const staying = await connectAgent(hub, key, 'staying-node')
    await eventually(async () => (await hub.request('GET', '/api/nodes', { token })).body.nodes.length === 2, 5000, 'both nodes')
    await leaving.close()
    await eventually(async () => (await hub.request('GET', '/api/nodes/leaving-node', { token })).body?.status === 'offline', 5000, 'the node to go offline')
    const keepAlive = setInterval(() => void staying.client.sendMetrics(metricsSample(staying.agentId)).catch(() => {}), 300)
    try {
      await eventually(async () => (await hub.request('GET', '/api/nodes/leaving-node', { token })).status === 404, 10_000, 'the stale node to be pruned')
      const nodes = (await hub.request('GET', '/api/nodes', { token })).body.nodes
      expect(nodes.map((n: { hostname: string; status: string }) => [n.hostname, n.status])).toEqual([['staying-node', 'online']])
    } finally {
      clearInterval(keepAlive)
      await staying.close()
    }
  }, 30_000)
})

