// The agent-gateway plugin as a mid-tier runs it: its own settings, and REST polling that can be left
// out with `disable` while agents keep connecting over SignalR.
import * as signalR from '@microsoft/signalr'
import { afterEach, describe, expect, it } from 'vitest'
import type { RunningRole } from '../../roles/start-role.ts'
import { createSignalRAgentClient } from '../../lib/agent-session/agent/index.ts'
import { addKey, startTestHub, type TestHub } from './test-hub.ts'
import { agentInfo, startMidtier, waitFor } from './helpers.ts'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {})
})

async function fleet(fields: Record<string, unknown>): Promise<{ h: TestHub; mid: RunningRole }> {
  const h = await startTestHub()
  cleanup.push(() => h.close())
  const mid = await startMidtier(h.url, addKey(h, 'mid'), fields)
  cleanup.push(() => mid.stop())
  return { h, mid }
}

describe('agent gateway on a mid-tier', () => {
  it('with transport-rest-poll disabled, agents still connect on /agenthub and /api/agent/* is gone', async () => {
    const { h, mid } = await fleet({ disable: ['transport-rest-poll'] })
    const key = addKey(h, 'live')
    const agent = createSignalRAgentClient({ url: mid.url, apiKey: key, transports: ['WebSockets'] })
    cleanup.push(() => agent.close())
    await agent.connect(agentInfo('gw-sig-1'))
    await waitFor('the node on the hub', () => h.state.nodes.get('gw-sig-1')?.online)

    const register = await fetch(`${mid.url}/api/agent/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(agentInfo('gw-rest-1')),
    })
    expect(register.status).toBe(404)
  })

  it("takes its redelivery time from pluginOptions['agent-gateway']: an unanswered command is pushed again", async () => {
    const { h, mid } = await fleet({ pluginOptions: { 'agent-gateway': { redeliveryMs: 200 } } })
    const key = addKey(h, 'live')
    // The raw client, because thresh's own runs a command once and would hide the second delivery.
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(`${mid.url}/agenthub`, { accessTokenFactory: () => key, transport: signalR.HttpTransportType.WebSockets })
      .configureLogging(signalR.LogLevel.None)
      .build()
    cleanup.push(() => connection.stop())
    const deliveries: string[] = []
    connection.on('ExecuteCommand', (command: { commandId: string }) => void deliveries.push(command.commandId))
    await connection.start()
    await connection.invoke('RegisterAgent', agentInfo('gw-redeliver-1'))
    await waitFor('the node on the hub', () => h.state.nodes.get('gw-redeliver-1')?.online)

    void h.command('gw-redeliver-1', { commandId: 'gw-c-1', tool: 'get_version', arguments: {} }).catch(() => {})
    await waitFor('a second delivery', () => deliveries.length >= 2, 5000)
    expect(new Set(deliveries)).toEqual(new Set(['gw-c-1']))
  })
})
