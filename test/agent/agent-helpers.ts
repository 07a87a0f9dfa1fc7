// Runs a real agent process (`thresh run --role agent`) with its own THRESH_HOME against test servers,
// and reads its live state from the status endpoint.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, spawnThresh, tempHome, waitForHttp, type Runtime, type ThreshProcess } from '../support/process.ts'
import { AGENT_KEY } from './agent-test-server.ts'

export interface AgentStatus {
  state: string
  reason: string | null
  agentId: string
  hubUrl: string | null
  target: 'primary' | 'fallback'
  transport: string | null
  reconnectCount: number
  failovers: number
  bufferedMetrics: number
  droppedMetrics: number
  commandsExecuted: number
  lastReportAt: string | null
  lastCollectStallMs: number | null
  [key: string]: unknown
}

export interface RunningAgent {
  proc: ThreshProcess
  home: string
  url: string
  status(): Promise<AgentStatus>
  /** Waits until the agent reports this state (and target, when given). */
  until(state: string, target?: 'primary' | 'fallback', timeoutMs?: number): Promise<AgentStatus>
  stop(): Promise<number | null>
}

export async function startAgent(config: Record<string, unknown>, options: { runtime?: Runtime; home?: string } = {}): Promise<RunningAgent> {
  const home = options.home ?? tempHome('thresh-agent-')
  const port = await freePort()
  const file = join(home, 'test-agent-config.json')
  writeFileSync(file, JSON.stringify({ apiKey: AGENT_KEY, metricsInterval: '300ms', reconnectDelay: '300ms', ...config }))
  const proc = spawnThresh(options.runtime ?? 'node', ['run', '--role', 'agent', '--port', String(port), '--config', file], { THRESH_HOME: home })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/health`, proc)
  const status = async () => (await (await fetch(`${url}/api/agent/status`)).json()) as AgentStatus
  return {
    proc,
    home,
    url,
    status,
    async until(state, target, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      let last: AgentStatus | undefined
      while (Date.now() < deadline) {
        last = await status()
        if (last.state === state && (!target || last.target === target)) return last
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`The agent did not reach ${state}${target ? ` on ${target}` : ''}; last status ${JSON.stringify(last)}\n${proc.output()}`)
    },
    stop: () => proc.stop('SIGTERM'),
  }
}

export async function waitFor<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!ok(value)) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value ${JSON.stringify(value)?.slice(0, 500)}`)
    await new Promise((r) => setTimeout(r, 100))
    value = await read()
  }
  return value
}
