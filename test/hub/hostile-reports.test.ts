// Issue #14: one tenant's hostile agent reports (U+0000, out-of-range numbers, far-off dates) are refused
// at the edge with the field named, over SignalR and REST, and never stop node reads or freshness for anyone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectAgent, dropSchema, eventually, metricsSample, startHub, agentInfo, type TestAgent, type TestHub } from './support.ts'

const NUL = '\u0000'

interface Tenant {
  token: string
  key: string
}

describe.each(['embedded', 'postgres'] as const)('hostile agent reports on a hub with %s storage', (storage) => {
  let hub: TestHub
  let owner: Tenant
  let other: Tenant
  let good: TestAgent
  let neighbour: TestAgent
  const evil = `evil-${storage}`

  const agentPost = (path: string, body: unknown, agentId = evil) =>
    hub.request('POST', path, { token: owner.key, body, headers: { 'x-agent-id': agentId } })
  const nodeOf = async (tenant: Tenant, id: string) => (await hub.request('GET', `/api/nodes/${id}`, { token: tenant.token })).body
  // Node freshness is written back every 2 s: wait past one write-back before judging reads.
  const pastWriteBack = () => new Promise((r) => setTimeout(r, 2500))

  beforeAll(async () => {
    hub = await startHub({ storage })
    const admin = await hub.login()
    owner = { token: admin, key: (await hub.request('POST', '/api/keys', { token: admin, body: { type: 'agent', name: 'owner' } })).body.key }
    const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name: `other-${storage}`, adminUser: `other-${storage}` } })
    const otherToken = await hub.login(`other-${storage}`, created.body.password)
    other = { token: otherToken, key: (await hub.request('POST', '/api/keys', { token: otherToken, body: { type: 'agent', name: 'other' } })).body.key }
    good = await connectAgent(hub, owner.key, `good-${storage}`)
    neighbour = await connectAgent(hub, other.key, `neighbour-${storage}`)
    expect((await agentPost('/api/agent/register', agentInfo(evil, `evil-${storage}`))).status).toBe(200)
  }, 90_000)
  afterAll(async () => {
    await good?.close()
    await neighbour?.close()
    await hub?.stop()
    await dropSchema(hub?.schema)
  })

  it('refuses U+0000 in a container name or a disk mount with 400 naming the field, and node reads keep answering for every account', async () => {
    const containers = await agentPost('/api/agent/metrics', { ...metricsSample(evil), containers: [`evil${NUL}name`] })
    expect(containers.status).toBe(400)
    expect(containers.body).toMatchObject({ error: 'invalid_metrics', message: expect.stringContaining('MetricsData.containers[0]') })
    const disks = await agentPost('/api/agent/metrics', { ...metricsSample(evil), disks: [{ mount: `/${NUL}`, usedGB: 1, totalGB: 2 }] })
    expect(disks.status).toBe(400)
    expect(disks.body.message).toContain('MetricsData.disks[0].mount')

    // Over SignalR the invocation fails with the reason, and the connection stays usable.
    await expect(good.client.sendMetrics({ ...metricsSample(good.agentId), containers: [`evil${NUL}name`] })).rejects.toThrow(/MetricsData\.containers\[0\] contains U\+0000/)
    await good.client.sendMetrics(metricsSample(good.agentId, 33))

    await pastWriteBack()
    expect((await hub.request('GET', '/api/nodes', { token: owner.token })).status).toBe(200)
    expect((await hub.request('GET', '/api/nodes', { token: other.token })).status).toBe(200)
    expect((await hub.request('GET', `/api/nodes/${evil}`, { token: owner.token })).status).toBe(200)
    await eventually(async () => (await nodeOf(owner, good.agentId))?.cpuPercent === 33, 5000, 'the good report to be stored')
  }, 30_000)

  it('refuses a registration with U+0000 or a non-finite size, and the node list still answers', async () => {
    const nul = await agentPost('/api/agent/register', agentInfo(`${evil}-reg`, `host${NUL}`), `${evil}-reg`)
    expect(nul.status).toBe(400)
    expect(nul.body).toMatchObject({ error: 'invalid_agent_info', message: expect.stringContaining('AgentInfo.hostname') })
    const huge = await hub.request('POST', '/api/agent/register', {
      token: owner.key,
      raw: JSON.stringify(agentInfo(`${evil}-reg`, 'huge')).replace('"ramTotalGb":8', '"ramTotalGb":1e400'),
    })
    expect(huge.status).toBe(400)
    expect(huge.body.message).toContain('AgentInfo.ramTotalGb must be a finite number')
    await pastWriteBack()
    const nodes = await hub.request('GET', '/api/nodes', { token: owner.token })
    expect(nodes.status).toBe(200)
    expect(nodes.body.nodes.map((n: { id: string }) => n.id)).not.toContain(`${evil}-reg`)
  }, 30_000)

  it('refuses cpuPercent 1e300 and a year-275760 timestamp, while other nodes keep getting lastSeenAt updates', async () => {
    const before = (await nodeOf(other, neighbour.agentId)).lastSeenAt as string
    const cpu = await agentPost('/api/agent/metrics', { ...metricsSample(evil), cpuPercent: 1e300 })
    expect(cpu.status).toBe(400)
    expect(cpu.body.message).toMatch(/MetricsData\.cpuPercent must be a percentage between 0 and/)
    const far = await agentPost('/api/agent/metrics', { ...metricsSample(evil), timestamp: '+275760-09-13T00:00:00.000Z' })
    expect(far.status).toBe(400)
    expect(far.body.message).toContain('MetricsData.timestamp')
    await expect(good.client.sendMetrics({ ...metricsSample(good.agentId), memoryUsedMB: -5 })).rejects.toThrow(/MetricsData\.memoryUsedMB must be a size/)

    await new Promise((r) => setTimeout(r, 1100))
    await neighbour.client.sendMetrics(metricsSample(neighbour.agentId, 44))
    await eventually(async () => {
      const node = await nodeOf(other, neighbour.agentId)
      return Date.parse(node.lastSeenAt) > Date.parse(before) && node.cpuPercent === 44
    }, 6000, "the other account's node to be seen again")
    expect(hub.proc.output()).not.toMatch(/out of range|unsupported Unicode/)
  }, 30_000)

  it('refuses a report dated in 2100 saying it is ahead of the clock, and the node keeps taking current reports', async () => {
    const future = await agentPost('/api/agent/metrics', { ...metricsSample(evil, 99), timestamp: '2100-01-01T00:00:00.000Z' })
    expect(future.status).toBe(400)
    expect(future.body.message).toMatch(/MetricsData\.timestamp is more than 5 minutes ahead of the server's clock; the report was refused/)
    const old = await agentPost('/api/agent/metrics', { ...metricsSample(evil, 99), timestamp: '1999-01-01T00:00:00.000Z' })
    expect(old.status).toBe(400)
    expect((await agentPost('/api/agent/metrics', metricsSample(evil, 21))).status).toBe(200)
    await eventually(async () => (await nodeOf(owner, evil))?.cpuPercent === 21, 6000, "the node's latest report to follow")
    const now = metricsSample(evil, 22)
    expect((await agentPost('/api/agent/metrics', now)).status).toBe(200)
    await eventually(async () => (await nodeOf(owner, evil))?.cpuPercent === 22, 6000, 'a newer report to replace it')
  }, 30_000)

  it('marks a silent node offline after hostile reports, and exits promptly on SIGTERM', async () => {
    await agentPost('/api/agent/metrics', { ...metricsSample(evil), cpuPercent: 1e300, containers: [NUL] })
    await good.close()
    await eventually(async () => (await nodeOf(owner, good.agentId))?.status === 'offline', 10_000, 'the silent node to go offline')
    const started = Date.now()
    await hub.stop()
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 30_000)
})
