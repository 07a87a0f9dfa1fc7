// A hub keeps its state across a restart, on the embedded store (no server) and on PostgreSQL:
// the admin, sessions, keys (and their revocations), nodes, clusters, stacks, commands and the audit log.
import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { tempHome } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { connectAgent, dropSchema, eventually, metricsSample, startHub, type Storage, type TestHub } from './support.ts'

requireTool('postgres')

const schemas: string[] = []
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema)
})

describe.each(['embedded', 'postgres'] as Storage[])('with %s storage', (storage) => {
  it('keeps accounts, sessions, keys, nodes, clusters, stacks, commands and audit across a restart', async () => {
    let hub: TestHub = await startHub({ storage })
    if (hub.schema) schemas.push(hub.schema)
    const home = hub.home
    try {
      const token = await hub.login()
      const live = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'durable' } })).body
      const gone = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'revoked-before-restart' } })).body
      await hub.request('DELETE', `/api/keys/${gone.id}`, { token })
      await hub.request('POST', '/api/clusters', { token, body: { name: 'durable-cluster', description: 'survives' } })

      let agent = await connectAgent(hub, live.key, 'durable-node', async (command) => {
        const args = command.arguments as Record<string, any>
        return { success: true, output: JSON.stringify({ stack: { name: args.stackName, status: 'running', services: args.services.map((s: any) => ({ name: s.name, image: s.image, status: 'running', ports: [] })) } }) }
      })
      await agent.client.sendMetrics(metricsSample(agent.agentId, 42))
      await eventually(async () => (await hub.request('GET', '/api/nodes/durable-node', { token })).body?.cpuPercent === 42, 10_000, 'the node and its metrics')
      await hub.request('POST', '/api/clusters/durable-cluster/nodes', { token, body: { node: 'durable-node' } })
      const deployed = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { name: 'kept', services: { web: { image: 'nginx:1', ports: ['18080:80'] } } } })
      expect(deployed.status).toBe(200)
      await agent.close()

      await hub.stop()
      hub = await startHub({ storage, home, ...(hub.schema ? { schema: hub.schema } : {}) })
      expect(hub.proc.output()).not.toContain('One-time password')

      expect((await hub.request('GET', '/api/nodes', { token })).status).toBe(200)
      expect((await hub.request('POST', '/api/agent/register', { token: gone.key, body: { agentId: 'x' } })).status).toBe(401)
      const node = await hub.request('GET', '/api/nodes/durable-node', { token })
      expect(node.body).toMatchObject({ id: agent.agentId, cluster: 'durable-cluster', cpuPercent: 42 })
      const cluster = await hub.request('GET', '/api/clusters/durable-cluster', { token })
      expect(cluster.body).toMatchObject({ description: 'survives', nodeCount: 1 })
      const stack = await hub.request('GET', '/api/stacks/kept', { token })
      expect(stack.body).toMatchObject({ status: 'running', node: 'durable-node' })
      const commands = await hub.request('GET', '/api/commands', { token })
      expect(commands.body.commands.some((c: { tool: string; status: string }) => c.tool === 'deploy_stack' && c.status === 'success')).toBe(true)
      const audit = await hub.request('GET', '/api/audit', { token })
      expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['login', 'key.create', 'key.revoke', 'stack.deploy']))

      // The same agent comes back with the same key and is the same node.
      agent = await connectAgent(hub, live.key, 'durable-node', undefined, agent.agentId)
      await eventually(async () => (await hub.request('GET', '/api/nodes', { token })).body.nodes.filter((n: { hostname: string }) => n.hostname === 'durable-node').length === 1, 5000, 'one node')
      await agent.close()
    } finally {
      await hub.stop()
    }
  }, 120_000)
})

/** Paths under `dir` that anyone but the owner may read, write or enter. */
function openToOthers(dir: string): string[] {
  const open: string[] = []
  const walk = (path: string) => {
    const stat = lstatSync(path)
    if (stat.isSymbolicLink()) return
    if ((stat.mode & 0o077) !== 0) open.push(`${path} ${(stat.mode & 0o777).toString(8)}`)
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry))
  }
  walk(dir)
  return open
}

describe('the data dir', () => {
  it('is readable by its owner only: THRESH_HOME, the embedded database, keys and certificates, also when an older hub left it open', async () => {
    const home = tempHome('thresh-perms-')
    // What an older thresh left: a world-readable home and database files.
    chmodSync(home, 0o755)
    mkdirSync(join(home, 'db'), { recursive: true, mode: 0o755 })
    writeFileSync(join(home, 'db', 'left-over'), 'x', { mode: 0o666 })
    chmodSync(join(home, 'db', 'left-over'), 0o666)
    const hub = await startHub({ storage: 'embedded', home })
    try {
      const token = await hub.login()
      expect((await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'perms' } })).status).toBe(201)
      expect(readdirSync(join(home, 'db')).length).toBeGreaterThan(10)
      expect(openToOthers(home)).toEqual([])
    } finally {
      await hub.stop()
    }
  }, 120_000)
})
