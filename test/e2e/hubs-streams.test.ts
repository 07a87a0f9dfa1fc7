// Logs and exec through a hub that does not hold the node (issue #17: any hub answers any API call for
// any node). Two hub processes on one PostgreSQL, a real agent on Docker connected to the first; every
// request goes to the second, which passes the stream through the first: tail and follow, closing the
// viewer stops the follow on the agent, exec with stdin and its exit code (audited on the hub asked),
// and the holding hub killed with -9 ends a follow with a reason instead of a hang.
import type Docker from 'dockerode'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { cliCommand, tempHome } from '../support/process.ts'
import { metric } from '../support/metrics-page.ts'
import { requireTool } from '../support/require.ts'
import { createHub, databaseUrl, dropSchema, eventually, newSchema, readNdjson, startAgent, type HubProcess, type RunningAgent } from './support.ts'

requireTool('docker')
requireTool('postgres')

const schema = newSchema()
const prefix = uniqueName('xhs')
const hubConfig = { hubLeaseTtl: '2s', offlineAfter: '2m', commandTimeout: '60s' }
let docker: Docker
let holder: HubProcess
let asked: HubProcess
let agent: RunningAgent
let agentId: string
let token: string
let container: Docker.Container | undefined
const name = `${prefix}-numbers`

const lines = (records: any[]) => records.filter((r) => typeof r.line === 'string').map((r) => r.line as string)
const logs = (query: string, stop?: (records: any[]) => boolean) => readNdjson(`${asked.url}/api/nodes/${agentId}/containers/${name}/logs?${query}`, token, stop)


beforeAll(async () => {
  docker = await connectDocker()
  holder = await createHub({ databaseUrl, schema, config: hubConfig })
  asked = await createHub({ databaseUrl, schema, config: hubConfig })
  token = await holder.login()
  const key = (await holder.createKey(token, 'agent', 'xhs')).key
  agent = await startAgent({ apiKey: key, midtierUrl: holder.url, transport: 'signalr', nodeName: `${prefix}-node`, metricsInterval: '1s', reconnectDelay: '300ms', publicMetrics: 'all', pluginOptions: { 'runtime-docker': { proxy: false } } })
  agentId = (await agent.until('connected', undefined, 30_000)).agentId
  await eventually('the node online on the hub asked', async () => (await asked.request('GET', `/api/nodes/${agentId}`, { token })).body.status === 'online', 30_000)
  container = await docker.createContainer({
    name,
    Image: 'thresh-test/busybox:1',
    // 20 numbered lines, then a tick every 200 ms.
    Entrypoint: ['sh', '-c', 'i=1; while [ $i -le 20 ]; do echo "line $i"; i=$((i+1)); done; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'],
    Labels: { 'thresh-test': prefix },
  })
  await container.start()
}, 180_000)

afterAll(async () => {
  await agent?.proc.stop('SIGKILL')
  await asked?.kill()
  await holder?.kill()
  await container?.remove({ force: true }).catch(() => {})
  await dropSchema(schema)
}, 60_000)

describe('streams through a hub that does not hold the node', () => {
  it('logs: the tail, then a follow that stops on the agent when the viewer closes it', async () => {
    const tail = await eventually('five lines through the other hub', async () => {
      const records = await logs('tail=5')
      return lines(records).length === 5 ? records : undefined
    }, 20_000)
    expect(tail.at(-1)).toEqual({ end: true })
    const followed = await logs('follow=true&tail=0', (records) => lines(records).length >= 3)
    expect(lines(followed).every((l) => l.startsWith('tick'))).toBe(true)
    await eventually('the follow stopped on the agent', async () => ((await metric(agent.url, 'agent_streams_open')) === 0 ? true : undefined), 10_000)
  }, 60_000)

  it('exec: stdin in, output and exit code back, audited on the hub asked', async () => {
    const [command, argv] = cliCommand('node', ['container', 'exec', agentId, name, '--', 'sh', '-c', 'tr a-z A-Z; exit 7'])
    const child = spawn(command, argv, { env: { ...process.env, THRESH_HOME: tempHome('thresh-e2e-cli-'), THRESH_CLI_TOKEN: token, THRESH_HUB_URL: asked.url }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.stdin.end('across hubs\n')
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(stdout, stderr).toBe('ACROSS HUBS\n')
    expect(code).toBe(7)
    const entries = await eventually('exec.end in the audit log', async () => {
      const list = (await asked.request('GET', '/api/audit?limit=50', { token })).body.entries as Array<{ action: string; details: any }>
      return list.some((e) => e.action === 'exec.end') ? list : undefined
    })
    expect(entries.find((e) => e.action === 'exec.end')!.details).toMatchObject({ container: name, exitCode: 7 })
  }, 60_000)

  it('a follow whose holding hub is killed with -9 ends with the reason', async () => {
    let killed = false
    const records = await logs('follow=true&tail=0', (seen) => {
      if (!killed && lines(seen).length >= 2) {
        killed = true
        void holder.kill()
      }
      return false
    })
    expect(lines(records).length).toBeGreaterThanOrEqual(2)
    expect(records.at(-1)).toMatchObject({ end: true, error: expect.stringContaining('stopped') })
  }, 60_000)
})
