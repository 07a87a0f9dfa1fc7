// `thresh agent config set` + `thresh agent start|status|failover|failback|stop` as a user runs them:
// real processes, the agent in the background with its pidfile and log file in THRESH_HOME.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnThresh, tempHome, type Runtime } from '../support/process.ts'
import { AGENT_KEY, startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'
import { waitFor } from './agent-helpers.ts'

const servers: AgentTestServer[] = []
const homes: string[] = []
afterAll(async () => {
  // Never leave a background agent behind, whatever failed.
  for (const home of homes) {
    const pidfile = join(home, 'agent.pid')
    if (existsSync(pidfile)) {
      try {
        process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(servers.map((s) => s.stop()))
})

async function thresh(home: string, args: string[], runtime: Runtime = 'node'): Promise<{ code: number | null; out: string }> {
  // Port 0: the agent's status endpoint takes any free loopback port and records it in THRESH_HOME.
  const proc = spawnThresh(runtime, args, { THRESH_HOME: home, THRESH_PORT: '0' })
  const code = await proc.exited
  return { code, out: proc.output() }
}

describe('thresh agent start, status and stop', () => {
  it('runs the agent in the background and shows its live state', async () => {
    const primary = await startAgentTestServer()
    const fallback = await startAgentTestServer()
    servers.push(primary, fallback)
    const home = tempHome('thresh-agent-cli-')
    homes.push(home)
    for (const [key, value] of [
      ['midtier-url', primary.url],
      ['fallback-url', fallback.url],
      ['api-key', AGENT_KEY],
      ['metrics-interval', '1s'],
      ['reconnect-delay', '200ms'],
    ]) {
      expect((await thresh(home, ['agent', 'config', 'set', key!, value!])).code).toBe(0)
    }

    const notRunning = await thresh(home, ['agent', 'status'])
    expect(notRunning.code).toBe(3)
    expect(notRunning.out).toContain('Stopped')

    const started = await thresh(home, ['agent', 'start'])
    expect(started.out).toContain('Agent started in the background')
    expect(started.code).toBe(0)
    const pid = Number(readFileSync(join(home, 'agent.pid'), 'utf8'))
    expect(pid).toBeGreaterThan(0)

    const twice = await thresh(home, ['agent', 'start'])
    expect(twice.code).not.toBe(0)
    expect(twice.out).toContain(`already running (pid ${pid})`)

    const json = await waitFor(
      async () => JSON.parse((await thresh(home, ['agent', 'status', '--json'])).out) as Record<string, unknown>,
      (s) => s.state === 'connected' && s.lastReportAt !== null,
      'a connected agent that has reported',
    )
    expect(json).toMatchObject({ running: true, hubUrl: primary.url, transport: 'signalr', pid, reconnectCount: 0 })
    const agentId = json.agentId as string
    expect(primary.connected(agentId)).toBe(true)

    const text = await thresh(home, ['agent', 'status'])
    expect(text.code).toBe(0)
    for (const line of [`Agent ID: ${agentId}`, 'Status: Connected ✓', `Hub URL: ${primary.url}`, 'Transport: SignalR', 'Uptime: ', 'Last Report: ', 'Reconnect Count: 0']) {
      expect(text.out).toContain(line)
    }

    const over = await thresh(home, ['agent', 'failover'])
    expect(over.out).toContain(`Connected to ${fallback.url} (fallback)`)
    expect((await thresh(home, ['agent', 'status'])).out).toContain(`Hub URL: ${fallback.url} (fallback)`)
    const back = await thresh(home, ['agent', 'failback'])
    expect(back.out).toContain(`Connected to ${primary.url} (primary)`)

    await primary.stop()
    const down = await waitFor(async () => (await thresh(home, ['agent', 'status'])).out, (out) => out.includes('Status: Disconnected'), 'a disconnected status')
    expect(down).toMatch(/Status: Disconnected: .+/)
    await primary.start()

    const stopped = await thresh(home, ['agent', 'stop'])
    expect(stopped.out).toContain(`Agent stopped (pid ${pid})`)
    expect(existsSync(join(home, 'agent.pid'))).toBe(false)
    expect(() => process.kill(pid, 0)).toThrow()
    expect(readFileSync(join(home, 'agent.log'), 'utf8')).toContain('Connected to')
    expect((await thresh(home, ['agent', 'stop'])).out).toContain('not running')
  }, 90_000)

  it('refuses manual failover without a fallback-url, with the reason', async () => {
    const hub = await startAgentTestServer()
    servers.push(hub)
    const home = tempHome('thresh-agent-cli-')
    homes.push(home)
    await thresh(home, ['agent', 'config', 'set', 'midtier-url', hub.url])
    await thresh(home, ['agent', 'config', 'set', 'api-key', AGENT_KEY])
    expect((await thresh(home, ['agent', 'start'])).code).toBe(0)
    const refused = await thresh(home, ['agent', 'failover'])
    expect(refused.code).not.toBe(0)
    expect(refused.out).toContain('No fallback-url is configured')
    expect((await thresh(home, ['agent', 'stop'])).code).toBe(0)
  }, 60_000)
})
