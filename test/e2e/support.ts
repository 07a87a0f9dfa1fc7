// Real processes for the fleet end-to-end tests: hubs that can be restarted on the same port and
// home (or share one PostgreSQL schema), mid-tiers, and agents, each with its own THRESH_HOME.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, spawnThresh, tempHome, waitForHttp, waitForOutput, type ThreshProcess } from '../support/process.ts'

export { dropSchema, databaseUrl, newSchema } from '../hub/support.ts'
export { startAgent, type RunningAgent, type AgentStatus } from '../agent/agent-helpers.ts'

export const ADMIN_PASSWORD = 'e2e-horse-battery-staple'

export interface HubProcess {
  url: string
  port: number
  home: string
  proc: ThreshProcess
  start(): Promise<void>
  kill(): Promise<void>
  request<T = any>(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: T }>
  login(): Promise<string>
}

/** A hub process that can be killed and started again on the same port, home and database. */
export async function createHub(options: { schema?: string; databaseUrl?: string; config?: Record<string, unknown> } = {}): Promise<HubProcess> {
  const home = tempHome('thresh-e2e-hub-')
  const port = await freePort()
  const config = {
    storage: options.databaseUrl ? 'postgres' : 'embedded',
    logLevel: 'info',
    offlineAfter: '3s',
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...options.config,
    pluginOptions: {
      ...(options.schema ? { 'storage-postgres': { schema: options.schema, max: 4 } } : {}),
      'hub-fleet': { keySweepMs: 500, flushMs: 200 },
    },
  }
  const configPath = join(home, 'hub.json')
  writeFileSync(configPath, JSON.stringify(config))
  const url = `http://127.0.0.1:${port}`
  const hub: HubProcess = {
    url,
    port,
    home,
    proc: undefined as unknown as ThreshProcess,
    async start() {
      hub.proc = spawnThresh('node', ['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--config', configPath], {
        THRESH_HOME: home,
        THRESH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      })
      await waitForHttp(`${url}/health`, hub.proc, 60_000)
      await waitForOutput(hub.proc, 'hub listening on', 60_000)
    },
    async kill() {
      await hub.proc?.stop('SIGKILL')
    },
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = {}
      if (opts.token) headers.authorization = `Bearer ${opts.token}`
      if (opts.body !== undefined) headers['content-type'] = 'application/json'
      const response = await fetch(url + path, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) })
      const text = await response.text()
      let body: unknown = text
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        // text answers stay text
      }
      return { status: response.status, body: body as any }
    },
    async login() {
      const reply = await hub.request('POST', '/api/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })
      if (reply.status !== 200) throw new Error(`Login failed: ${reply.status} ${JSON.stringify(reply.body)}`)
      return reply.body.accessToken as string
    },
  }
  await hub.start()
  return hub
}

export interface MidtierProcess {
  url: string
  home: string
  proc: ThreshProcess
  start(env?: Record<string, string>): Promise<void>
  kill(): Promise<void>
  metric(name: string): Promise<number>
}

export async function createMidtier(hubUrl: string, midKey: string, env: Record<string, string> = {}): Promise<MidtierProcess> {
  const home = tempHome('thresh-e2e-mid-')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const mid: MidtierProcess = {
    url,
    home,
    proc: undefined as unknown as ThreshProcess,
    async start(extra = {}) {
      mid.proc = spawnThresh('node', ['run', '--role', 'midtier', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--hub-url', hubUrl, '--api-key', midKey], {
        THRESH_HOME: home,
        THRESH_BATCH_INTERVAL: '300ms',
        ...env,
        ...extra,
      })
      await waitForHttp(`${url}/health`, mid.proc)
    },
    async kill() {
      await mid.proc?.stop('SIGKILL')
    },
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text()
      const line = text.split('\n').find((l) => l.startsWith(name + ' '))
      return line ? Number(line.split(' ')[1]) : Number.NaN
    },
  }
  await mid.start()
  return mid
}

export async function eventually<T>(what: string, check: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 150): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  while (Date.now() < deadline) {
    try {
      last = await check()
    } catch (error) {
      last = undefined
      void error
    }
    if (last) return last as NonNullable<T>
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 800)}`)
}

/** Timestamps (ms) of metric points between `from` and `to`, sorted. */
export function pointTimes(points: Array<Record<string, unknown>>, from: number, to: number): number[] {
  return points
    .map((p) => Date.parse(String(p.at ?? p.timestamp ?? p.time)))
    .filter((t) => t >= from && t <= to)
    .sort((a, b) => a - b)
}

export function largestGap(times: number[]): number {
  let gap = 0
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!)
  return gap
}
