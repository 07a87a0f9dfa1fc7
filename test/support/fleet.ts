// Real fleet processes for the end-to-end tests: hubs (Node or Deno) that can be restarted on the same
// port and home or share one PostgreSQL schema, mid-tiers, agents with their own THRESH_HOME, and the
// `thresh stack up --hub` deploy flow (up, update, stop, destroy) checked against the Docker engine.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { expect } from 'vitest'
import { freePort, httpText, labelledObjects } from './docker.ts'
import { metric } from './metrics-page.ts'
import { spawnThresh, tempHome, waitForHttp, waitForOutput, type Runtime, type ThreshProcess } from './process.ts'

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
  /** A new key of that type; `key` is the secret, `id` what revokes it. */
  createKey(token: string, type: 'agent' | 'midtier', name: string): Promise<{ id: string; key: string }>
}

export interface HubProcessOptions {
  runtime?: Runtime
  schema?: string
  databaseUrl?: string
  /** `embedded` unless a database URL is given. */
  storage?: 'embedded' | 'memory' | 'postgres'
  config?: Record<string, unknown>
  pluginOptions?: Record<string, unknown>
}

/** A hub process that can be killed and started again on the same port, home and database. */
export async function createHub(options: HubProcessOptions = {}): Promise<HubProcess> {
  const home = tempHome('thresh-e2e-hub-')
  const port = await freePort()
  const config = {
    storage: options.storage ?? (options.databaseUrl ? 'postgres' : 'embedded'),
    logLevel: 'info',
    offlineAfter: '3s',
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...options.config,
    pluginOptions: {
      ...(options.schema ? { 'storage-postgres': { schema: options.schema, max: 4 } } : {}),
      'hub-fleet': { keySweepMs: 500, flushMs: 200 },
      ...options.pluginOptions,
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
      hub.proc = spawnThresh(options.runtime ?? 'node', ['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--config', configPath], {
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
    async createKey(token, type, name) {
      const reply = await hub.request('POST', '/api/keys', { token, body: { type, name } })
      if (reply.status >= 300) throw new Error(`Creating a ${type} key failed: ${reply.status} ${JSON.stringify(reply.body)}`)
      return { id: reply.body.id, key: reply.body.key }
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
    metric: (name) => metric(url, name),
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

/** The hub's nodes as `GET /api/nodes` lists them. */
export async function listNodes(hub: HubProcess, token: string): Promise<Array<Record<string, any>>> {
  const reply = await hub.request('GET', '/api/nodes', { token })
  return Array.isArray(reply.body) ? reply.body : (reply.body?.nodes ?? [])
}

/** Waits until the hub lists the agent online with a CPU figure, and has at least one metric point of it. */
export async function nodeWithMetrics(hub: HubProcess, token: string, agentId: string, timeoutMs = 20_000): Promise<Record<string, any>> {
  const since = Date.now() - 60_000
  return eventually(`node ${agentId} online with metrics`, async () => {
    const node = (await listNodes(hub, token)).find((n) => n.id === agentId && n.status === 'online' && typeof n.cpuPercent === 'number')
    if (!node) return undefined
    const series = await hub.request('GET', `/api/nodes/${agentId}/metrics?from=${since}&to=${Date.now() + 1000}`, { token })
    return (series.body?.points ?? []).length > 0 ? node : undefined
  }, timeoutMs)
}

/** The remote CLI (`thresh … --hub URL`) signed in with the hub token, in a home of its own. */
export function remoteCli(hub: HubProcess, token: string, runtime: Runtime = 'node'): (...args: string[]) => Promise<{ code: number | null; output: string }> {
  const home = tempHome('thresh-e2e-cli-')
  return async (...args) => {
    const proc = spawnThresh(runtime, [...args, '--hub', hub.url], { THRESH_HOME: home, THRESH_CLI_TOKEN: token })
    const code = await proc.exited
    return { code, output: proc.output() }
  }
}

const labelled = (stack: string) => JSON.stringify({ label: [`thresh.stack=${stack}`] })

/**
 * `thresh stack up FILE --hub --node NODE`, then update, stop and destroy through the hub, each
 * checked on the Docker engine: the container answers on its port with its env, runs the new image,
 * is gone after stop, and nothing labelled with the stack is left after destroy.
 */
export async function deployFlowThroughHub(options: { hub: HubProcess; token: string; docker: Docker; stack: string; node: string; runtime?: Runtime }): Promise<void> {
  const { docker, stack, node } = options
  const cli = remoteCli(options.hub, options.token, options.runtime)
  const port = await freePort()
  const file = join(tempHome('thresh-e2e-stack-'), 'stack.json')
  writeFileSync(file, JSON.stringify({ name: stack, services: { web: { image: 'thresh-test/busybox:1', ports: [`${port}:8080`], env: { GREETING: `to-${node}` } } } }))

  const up = await cli('stack', 'up', file, '--node', node, '--json')
  expect(up.code, up.output).toBe(0)
  expect(JSON.parse(up.output.slice(up.output.indexOf('{')))).toMatchObject({ name: stack, status: 'running', node })
  expect(await httpText(`http://127.0.0.1:${port}/env.txt`, 15_000)).toContain(`GREETING=to-${node}`)

  const updated = await cli('stack', 'update', stack, '--service', 'web', '--image', 'thresh-test/busybox:2')
  expect(updated.code, updated.output).toBe(0)
  const [container] = await docker.listContainers({ filters: labelled(stack) })
  expect(container?.Image).toBe('thresh-test/busybox:2')

  const stopped = await cli('stack', 'stop', stack)
  expect(stopped.code, stopped.output).toBe(0)
  expect(await docker.listContainers({ filters: labelled(stack) })).toHaveLength(0)

  const destroyed = await cli('stack', 'destroy', stack, '--yes')
  expect(destroyed.code, destroyed.output).toBe(0)
  expect(await labelledObjects(docker, stack)).toEqual([])
}

/** Removes whatever a test left of a stack on Docker (containers, networks, volumes), whichever account made it. */
export async function removeStackObjects(docker: Docker, stack: string): Promise<void> {
  const filters = labelled(stack)
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {})
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {})
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {})
}

/** Reads an NDJSON response (logs, exec output) until `stop` says so or it ends; the response is then closed. */
export async function readNdjson(url: string, token: string, stop: (records: any[]) => boolean = () => false, signal?: AbortSignal): Promise<any[]> {
  const controller = new AbortController()
  signal?.addEventListener('abort', () => controller.abort())
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  if (!response.ok) throw Object.assign(new Error(`${response.status} ${await response.text()}`), { status: response.status })
  const records: any[] = []
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let partial = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      const lines = (partial + value).split('\n')
      partial = lines.pop()!
      for (const line of lines) if (line) records.push(JSON.parse(line))
      if (stop(records) || records.at(-1)?.end) break
    }
  } finally {
    controller.abort()
  }
  return records
}
