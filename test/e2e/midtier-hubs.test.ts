// A mid-tier over several hubs: two hub processes on one PostgreSQL (TLS, one fleet CA, the mid-tier
// pinned to it), a mid-tier given both URLs, agents on the mid-tier. kill -9 of the hub it is on: it
// moves to the other hub (checked against the same pin), its agents keep their connection, every
// sample they sent is stored, commands work through the other hub; when the hub returns it moves back.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintOf } from '../../lib/tls.ts'
import { connectAgent, type TestAgent } from '../hub/support.ts'
import { createMidtier, databaseUrl, dropSchema, eventually, newSchema, pointTimes, type MidtierProcess } from '../support/fleet.ts'
import { freePort, spawnThresh, tempHome, waitForOutput, type ThreshProcess } from '../support/process.ts'
import { requireTool } from '../support/require.ts'

requireTool('postgres')

const PASSWORD = 'multi-hub-horse-battery'
const schema = newSchema()

interface TlsHub {
  url: string
  home: string
  port: number
  proc?: ThreshProcess
  start(): Promise<void>
}

function tlsHub(home: string, port: number): TlsHub {
  const config = join(home, 'hub.json')
  writeFileSync(config, JSON.stringify({
    storage: 'postgres',
    databaseUrl,
    logLevel: 'info',
    offlineAfter: '10m',
    commandTimeout: '30s',
    pluginOptions: { 'storage-postgres': { schema, max: 4 }, 'hub-fleet': { flushMs: 200 } },
  }))
  const hub: TlsHub = {
    url: `https://127.0.0.1:${port}`,
    home,
    port,
    async start() {
      hub.proc = spawnThresh('node', ['run', '--role', 'hub', '--host', '127.0.0.1', '--port', String(port), '--config', config], { THRESH_HOME: home, THRESH_ADMIN_PASSWORD: PASSWORD })
      await waitForOutput(hub.proc, 'hub listening on', 60_000)
    },
  }
  return hub
}

let ca = ''
/** The hub's API over HTTPS, trusting only the fleet CA. */
function api(hub: TlsHub, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    const req = httpsRequest(hub.url + path, {
      method,
      ca,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = ''
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => {
        let body: unknown = text
        try {
          body = text ? JSON.parse(text) : undefined
        } catch {
          // text stays text
        }
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

let hubA: TlsHub
let hubB: TlsHub
let mid: MidtierProcess
const agents: TestAgent[] = []
/** Every state each agent's connection went through after it first connected. */
const transitions = new Map<string, string[]>()
/** Per agent, the timestamps of the samples the mid-tier accepted. */
const sent = new Map<string, number[]>()
let pumping = true
let pump: Promise<void> | undefined

beforeAll(async () => {
  hubA = tlsHub(tempHome('thresh-multihub-a-'), await freePort())
  await hubA.start()
  // Hubs of one fleet share its CA: the second hub starts with the first one's.
  hubB = tlsHub(tempHome('thresh-multihub-b-'), await freePort())
  mkdirSync(join(hubB.home, 'tls'), { recursive: true, mode: 0o700 })
  for (const file of ['ca.pem', 'ca-key.pem']) copyFileSync(join(hubA.home, 'tls', file), join(hubB.home, 'tls', file))
  await hubB.start()
  ca = readFileSync(join(hubA.home, 'tls', 'ca.pem'), 'utf8')
}, 180_000)

afterAll(async () => {
  pumping = false
  await pump?.catch(() => {})
  await Promise.all(agents.map((a) => a.close().catch(() => {})))
  await mid?.kill()
  await hubA?.proc?.stop('SIGKILL')
  await hubB?.proc?.stop('SIGKILL')
  await dropSchema(schema)
}, 60_000)

const connectedTo = (hub: TlsHub) => `Connected to the hub at ${hub.url} as`
const occurrences = (text: string, part: string) => text.split(part).length - 1

describe('a mid-tier given two hubs', () => {
  it('moves to the other hub when its hub is killed, keeps its agents connected, loses no sample, routes commands, and moves back', async () => {
    const login = async (hub: TlsHub) => (await api(hub, 'POST', '/api/auth/login', { body: { username: 'admin', password: PASSWORD } })).body.accessToken as string
    const tokenA = await login(hubA)
    const midKey = (await api(hubA, 'POST', '/api/keys', { token: tokenA, body: { type: 'midtier', name: 'multi' } })).body.key as string
    const agentKey = (await api(hubA, 'POST', '/api/keys', { token: tokenA, body: { type: 'agent', name: 'multi' } })).body.key as string

    mid = await createMidtier(`${hubA.url},${hubB.url}`, midKey, {
      THRESH_HUB_FINGERPRINT: fingerprintOf(ca),
      THRESH_HUB_PREFERENCE: 'first',
      THRESH_HUB_FAILBACK_DELAY: '1s',
      THRESH_BATCH_INTERVAL: '200ms',
      NODE_EXTRA_CA_CERTS: '',
    })
    await waitForOutput(mid.proc, connectedTo(hubA), 60_000)

    for (const name of ['multi-node-1', 'multi-node-2']) {
      const agent = await connectAgent({ url: mid.url }, agentKey, `${name}-${schema.slice(-6)}`, async (command) => {
        const args = command.arguments as Record<string, any>
        if (command.tool === 'list_blueprints') return { success: true, output: JSON.stringify({ blueprints: [] }) }
        return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: [{ name: 'web', status: 'running' }] } }) }
      })
      agents.push(agent)
      transitions.set(agent.agentId, [])
      sent.set(agent.agentId, [])
      agent.client.onStateChange((state) => transitions.get(agent.agentId)!.push(state))
    }
    // Each agent reports every 150 ms for the whole test; a sample counts once the mid-tier accepted it.
    pump = (async () => {
      let at = Date.now()
      while (pumping) {
        at = Math.max(at + 1, Date.now())
        await Promise.all(agents.map(async (agent) => {
          await agent.client.sendMetrics({ agentId: agent.agentId, timestamp: new Date(at).toISOString(), cpuPercent: 10, cpuPerCore: [10], memoryUsedMB: 1, memoryTotalMB: 2, diskUsedGB: 1, diskTotalGB: 2, disks: [], containersRunning: 0, containers: [], environmentCount: 0, uptimeSeconds: 1 })
          sent.get(agent.agentId)!.push(at)
        }))
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
    })()
    const online = (hub: TlsHub, token: string) => async () => {
      const nodes = (await api(hub, 'GET', '/api/nodes', { token })).body
      const list: any[] = Array.isArray(nodes) ? nodes : (nodes?.nodes ?? [])
      return agents.every((a) => list.some((n) => n.id === a.agentId && n.status === 'online'))
    }
    await eventually('both nodes online on hub A', online(hubA, tokenA), 30_000)
    await eventually('samples flowing', () => agents.every((a) => sent.get(a.agentId)!.length >= 5), 30_000)

    // The hub the mid-tier is on dies.
    await hubA.proc!.stop('SIGKILL')
    await waitForOutput(mid.proc, connectedTo(hubB), 60_000)
    const tokenB = await login(hubB)
    await eventually('both nodes online on hub B', online(hubB, tokenB), 30_000)
    const [first, second] = agents as [TestAgent, TestAgent]
    const deployed = await api(hubB, 'POST', '/api/stacks/deploy?wait=true', { token: tokenB, body: { name: 'multi-b', targetNode: first.hostname, services: { web: { image: 'nginx' } } } })
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200)
    expect((await api(hubB, 'GET', '/api/stacks/multi-b', { token: tokenB })).body).toMatchObject({ status: 'running' })
    const sentBeforeReturn = agents.map((a) => sent.get(a.agentId)!.length)
    await eventually('more samples through hub B', () => agents.every((a, i) => sent.get(a.agentId)!.length >= sentBeforeReturn[i]! + 5), 30_000)

    // The first hub comes back: the mid-tier returns to it (it is first in its list) and it routes commands.
    await hubA.start()
    await eventually('the mid-tier back on hub A', () => occurrences(mid.proc.output(), connectedTo(hubA)) >= 2, 60_000)
    const tokenA2 = await login(hubA)
    await eventually('both nodes online on hub A again', online(hubA, tokenA2), 30_000)
    const blueprints = await api(hubA, 'GET', `/api/nodes/${second.hostname}/blueprints`, { token: tokenA2 })
    expect(blueprints.status, JSON.stringify(blueprints.body)).toBe(200)

    pumping = false
    await pump
    // Every sample the mid-tier accepted is stored, whichever hub it reached.
    for (const agent of agents) {
      const times = sent.get(agent.agentId)!
      const [from, to] = [times[0]!, times.at(-1)!]
      await eventually(`all ${times.length} samples of ${agent.hostname} stored`, async () => {
        const series = (await api(hubA, 'GET', `/api/nodes/${agent.agentId}/metrics?from=${from - 1}&to=${to + 1}`, { token: tokenA2 })).body
        const stored = new Set(pointTimes(series?.points ?? [], from, to))
        return times.every((t) => stored.has(t))
      }, 30_000, 500)
      // The agents never noticed: their mid-tier connection stayed up throughout.
      expect(transitions.get(agent.agentId)).toEqual([])
    }
    expect(mid.proc.output()).toContain(`Lost the hub at ${hubA.url}`)
  }, 300_000)
})
