// What a plugin on the agent hears on `ctx.bus` about its session: connected, disconnected when the
// server goes away, connected again, and disconnected for good when the agent stops.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startRole, type RunningRole } from '../../roles/start-role.ts'
import { definePlugin, type ThreshEvents } from '../../core/index.ts'
import { repoRoot, tempHome } from '../support/process.ts'
import { AGENT_KEY, startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'
import { waitFor } from './agent-helpers.ts'

type Heard = { name: 'agent:connected'; payload: ThreshEvents['agent:connected'] } | { name: 'agent:disconnected'; payload: ThreshEvents['agent:disconnected'] }

const heard: Heard[] = []
// Like a plugin author's: it listens on ctx.bus, and keeps listening through shutdown to hear the last event.
const listener = definePlugin(() => ({
  name: 'connection-listener',
  setup(ctx) {
    ctx.bus.on('agent:connected', (payload) => heard.push({ name: 'agent:connected', payload }))
    ctx.bus.on('agent:disconnected', (payload) => heard.push({ name: 'agent:disconnected', payload }))
  },
}))

let server: AgentTestServer | undefined
let agent: RunningRole | undefined
const ownHome = process.env.THRESH_HOME
afterAll(async () => {
  await agent?.stop()
  await server?.stop()
  if (ownHome === undefined) delete process.env.THRESH_HOME
  else process.env.THRESH_HOME = ownHome
})

const count = (name: Heard['name']) => heard.filter((e) => e.name === name).length

describe('a plugin listening on the agent', () => {
  it('hears the session come up, go down with its server, come back, and end when the agent stops', async () => {
    server = await startAgentTestServer({ transports: ['WebSockets'] })
    const home = tempHome('thresh-agent-events-')
    // The agent role also reads $THRESH_HOME/agent.json: keep it off the developer's own.
    process.env.THRESH_HOME = home
    agent = await startRole({
      role: 'agent',
      env: {},
      flags: { port: 0, logLevel: 'silent', dataDir: home, midtierUrl: server.url, apiKey: AGENT_KEY, transport: 'signalr', reconnectDelay: '200ms', metricsInterval: '1h' },
      plugins: [listener()],
    })

    await waitFor(() => count('agent:connected'), (n) => n === 1, 'the first connection')
    const first = heard[0]!.payload as ThreshEvents['agent:connected']
    expect(first).toEqual({ agentId: expect.any(String), url: server.url, target: 'primary', transport: 'signalr', reconnect: false })

    await server.stop()
    await waitFor(() => count('agent:disconnected'), (n) => n === 1, 'the disconnection')
    expect(heard[1]).toEqual({
      name: 'agent:disconnected',
      payload: { agentId: first.agentId, url: server.url, target: 'primary', reason: expect.any(String), reconnecting: true },
    })

    await server.start()
    await waitFor(() => count('agent:connected'), (n) => n === 2, 'the reconnection')
    expect(heard.at(-1)).toEqual({ name: 'agent:connected', payload: { ...first, reconnect: true } })

    await agent.stop()
    agent = undefined
    expect(heard.at(-1)).toEqual({
      name: 'agent:disconnected',
      payload: { agentId: first.agentId, url: server.url, target: 'primary', reason: 'The agent is stopping.', reconnecting: false },
    })
    expect(heard.map((e) => e.name)).toEqual(['agent:connected', 'agent:disconnected', 'agent:connected', 'agent:disconnected'])
  }, 30_000)

  it('finds both events documented in docs/plugins.md', () => {
    const docs = readFileSync(join(repoRoot, 'docs/plugins.md'), 'utf8')
    for (const name of ['agent:connected', 'agent:disconnected']) expect(docs).toContain(`| \`${name}\` |`)
  })
})
