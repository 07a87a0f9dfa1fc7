// Issue #14: fuzzed registrations and metrics reports (control characters, lone surrogates, huge,
// negative and non-finite numbers, odd dates, nested junk) never get a 5xx, nor change another account's reads.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentInfo, dropSchema, metricsSample, startHub, type TestHub } from './support.ts'

// JSON cannot spell Infinity; 1e400 parses to it. The marker is swapped into the raw body.
const INFINITE = '__infinite__'

const junkString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\u0000', 'evil\u0000name', '\ud800', 'a\udc00b', '\u001b[31m', 'x'.repeat(5000), ''),
)
const junkNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e300, -1e300, 3.5e38, -1, -0, 1e12 + 1, 101, 110.5, INFINITE),
)
const junkDate = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z', '2100-01-01T00:00:00Z', '1970-01-01T00:00:00Z', 'not a date', ''),
  junkString,
)
const junk = fc.oneof(junkString, junkNumber, junkDate, fc.anything({ maxDepth: 4 }), fc.constant(null))
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: junk })

const metricsPayload = fc.record(
  {
    timestamp: maybe(fc.constant(new Date().toISOString())),
    cpuPercent: maybe(fc.double({ min: 0, max: 100, noNaN: true })),
    cpuPerCore: maybe(fc.array(junkNumber, { maxLength: 8 })),
    memoryUsedMB: maybe(junkNumber),
    memoryTotalMB: maybe(junkNumber),
    diskUsedGB: maybe(junkNumber),
    diskTotalGB: maybe(junkNumber),
    disks: maybe(fc.array(fc.record({ mount: junkString, usedGB: junkNumber, totalGB: junkNumber }, { requiredKeys: [] }), { maxLength: 4 })),
    containersRunning: maybe(junkNumber),
    containers: maybe(fc.array(junk, { maxLength: 4 })),
    environmentCount: maybe(junkNumber),
    uptimeSeconds: maybe(junkNumber),
    extra: junk,
  },
  { requiredKeys: [] },
)

const registrationPayload = fc.record(
  {
    hostname: maybe(fc.constant('fuzzed-host')),
    platform: maybe(junkString),
    osVersion: maybe(junkString),
    threshVersion: maybe(junkString),
    ipAddress: maybe(junkString),
    architecture: maybe(junkString),
    containerRuntime: maybe(junkString),
    cpuCores: maybe(junkNumber),
    ramTotalGb: maybe(junkNumber),
    diskTotalGb: maybe(junkNumber),
    registeredAt: maybe(junkDate),
    labels: junk,
  },
  { requiredKeys: [] },
)

const raw = (value: unknown) => JSON.stringify(value).replaceAll(`"${INFINITE}"`, '1e400')

let hub: TestHub
let admin: string
let liveKey: string
let otherToken: string
beforeAll(async () => {
  hub = await startHub({ storage: 'postgres' })
  admin = await hub.login()
  liveKey = (await hub.request('POST', '/api/keys', { token: admin, body: { type: 'agent', name: 'fuzz' } })).body.key
  const created = await hub.request('POST', '/api/accounts', { token: admin, body: { name: 'fuzz-other', adminUser: 'fuzz-other' } })
  otherToken = await hub.login('fuzz-other', created.body.password)
  const otherKey = (await hub.request('POST', '/api/keys', { token: otherToken, body: { type: 'agent', name: 'other' } })).body.key
  await hub.request('POST', '/api/agent/register', { token: otherKey, body: agentInfo('neighbour', 'neighbour') })
  await hub.request('POST', '/api/agent/metrics', { token: otherKey, body: metricsSample('neighbour'), headers: { 'x-agent-id': 'neighbour' } })
}, 90_000)
afterAll(async () => {
  await hub?.stop()
  await dropSchema(hub?.schema)
})

const stable = (body: { nodes: Array<Record<string, unknown>> }) =>
  body.nodes.map(({ id, hostname, cpuCores, cpuPercent, ramUsedGb, diskUsedGb, containersRunning }) => ({ id, hostname, cpuCores, cpuPercent, ramUsedGb, diskUsedGb, containersRunning }))

describe('fuzzed agent payloads', () => {
  it("never answer 5xx and never change another account's node reads", async () => {
    const agentId = 'fuzzed-agent'
    const headers = { 'x-agent-id': agentId }
    expect((await hub.request('POST', '/api/agent/register', { token: liveKey, body: agentInfo(agentId, 'fuzzed-host') })).status).toBe(200)
    await new Promise((r) => setTimeout(r, 2500))
    const neighbourBefore = await hub.request('GET', '/api/nodes', { token: otherToken })
    expect(neighbourBefore.status).toBe(200)

    await fc.assert(
      fc.asyncProperty(registrationPayload, metricsPayload, async (info, metrics) => {
        const registered = await hub.request('POST', '/api/agent/register', { token: liveKey, headers, raw: raw({ ...info, agentId }) })
        expect(registered.status, JSON.stringify(registered.body)).toBeLessThan(500)
        const reported = await hub.request('POST', '/api/agent/metrics', { token: liveKey, headers, raw: raw(metrics) })
        expect(reported.status, JSON.stringify(reported.body)).toBeLessThan(500)
        if (reported.status === 400) expect(reported.body.message).toMatch(/^MetricsData/)
        const read = await hub.request('GET', `/api/nodes/${agentId}`, { token: admin })
        expect(read.status).toBe(200)
      }),
      { numRuns: 120 },
    )

    // Past the shared write-back of nodes' latest reports.
    await new Promise((r) => setTimeout(r, 2500))
    const owner = await hub.request('GET', '/api/nodes', { token: admin })
    expect(owner.status).toBe(200)
    const neighbourAfter = await hub.request('GET', '/api/nodes', { token: otherToken })
    expect(neighbourAfter.status).toBe(200)
    expect(stable(neighbourAfter.body)).toEqual(stable(neighbourBefore.body))
    expect(hub.proc.output()).not.toMatch(/out of range for type|unsupported Unicode|Writing \d+ metrics samples failed/)
  }, 120_000)
})
