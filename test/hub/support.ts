// Real hub processes for the hub tests (embedded, PostgreSQL or memory storage), a small JSON client,
// and test agents that speak the real agent protocol through lib/agent-session's SignalR client.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { createSignalRAgentClient, type AgentInfo, type AgentTransportClient, type CommandHandler, type MetricsData } from '../../lib/agent-session/agent/index.ts'
import { freePort, spawnThresh, tempHome, waitForHttp, waitForOutput, type Runtime, type ThreshProcess } from '../support/process.ts'
import { agentInfo as sharedAgentInfo } from '../support/agent-fixtures.ts'
import { createTools } from '../../plugins/agent-commands/tools.ts'
import type { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'

export const databaseUrl: string = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const ADMIN_PASSWORD = 'correct-horse-battery'

export type Storage = 'embedded' | 'postgres' | 'memory'

export interface HubOptions {
  storage: Storage
  runtime?: Runtime
  home?: string
  /** PostgreSQL schema (storage postgres); a fresh one by default. */
  schema?: string
  config?: Record<string, unknown>
  env?: Record<string, string>
}

export interface Reply<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface TestHub {
  url: string
  home: string
  schema: string | undefined
  proc: ThreshProcess
  request<T = any>(method: string, path: string, options?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply<T>>
  login(username?: string, password?: string, extra?: Record<string, unknown>): Promise<string>
  stop(): Promise<void>
}

export function newSchema(): string {
  return `thresh_hub_${randomBytes(6).toString('hex')}`
}

export async function startHub(options: HubOptions): Promise<TestHub> {
  const home = options.home ?? tempHome('thresh-hub-')
  const port = await freePort()
  const schema = options.storage === 'postgres' ? (options.schema ?? newSchema()) : undefined
  const config = {
    storage: options.storage,
    logLevel: 'info',
    offlineAfter: '3s',
    commandTimeout: '4s',
    keyRotationGrace: '2s',
    ...(options.storage === 'postgres' ? { databaseUrl } : {}),
    ...options.config,
    pluginOptions: {
      ...(schema ? { 'storage-postgres': { schema, max: 4 } } : {}),
      'hub-fleet': { keySweepMs: 500, flushMs: 200 },
      ...((options.config?.pluginOptions as Record<string, unknown>) ?? {}),
    },
  }
  const configPath = join(home, `hub-${port}.json`)
  writeFileSync(configPath, JSON.stringify(config))
  const proc = spawnThresh(options.runtime ?? 'node', ['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--config', configPath], {
    THRESH_HOME: home,
    THRESH_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...options.env,
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/health`, proc, 60_000)
  await waitForOutput(proc, 'hub listening on', 60_000)

  const request: TestHub['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
    let body: string | undefined
    if (opts.raw !== undefined) body = opts.raw
    else if (opts.body !== undefined) body = JSON.stringify(opts.body)
    if (body !== undefined) headers['content-type'] ??= 'application/json'
    const send = () => fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) })
    // After a 413 the server drops the connection with the unread body; a pooled socket may be stale.
    const response = await send().catch((error) => (method === 'GET' ? send() : Promise.reject(error)))
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      // Non-JSON answers (docs page, metrics) stay text.
    }
    return { status: response.status, body: parsed as any, headers: response.headers }
  }

  return {
    url,
    home,
    schema,
    proc,
    request,
    async login(username = 'admin', password = ADMIN_PASSWORD, extra = {}) {
      const reply = await request('POST', '/api/auth/login', { body: { username, password, ...extra } })
      if (reply.status !== 200) throw new Error(`Login as ${username} failed: ${reply.status} ${JSON.stringify(reply.body)}`)
      return reply.body.accessToken as string
    },
    async stop() {
      await proc.stop('SIGTERM')
    },
  }
}

export async function dropSchema(schema: string | undefined): Promise<void> {
  if (!schema) return
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
  } finally {
    await sql.end()
  }
}

export function agentInfo(agentId: string, hostname: string): AgentInfo {
  return sharedAgentInfo(agentId, { hostname, osVersion: 'Test OS 1', cpuCores: 4, ramTotalGb: 8, diskTotalGb: 100 })
}

export function metricsSample(agentId: string, cpuPercent = 12.5, memoryUsedMB = 2048): MetricsData {
  return {
    agentId,
    timestamp: new Date().toISOString(),
    cpuPercent,
    cpuPerCore: [cpuPercent, cpuPercent],
    memoryUsedMB,
    memoryTotalMB: 8192,
    diskUsedGB: 40,
    diskTotalGB: 100,
    disks: [{ mount: '/', usedGB: 40, totalGB: 100 }],
    containersRunning: 2,
    containers: [],
    environmentCount: 1,
    uptimeSeconds: 1000,
  }
}

export interface TestAgent {
  agentId: string
  hostname: string
  client: AgentTransportClient
  close(): Promise<void>
}

/** An agent connected to the hub's /agenthub with a live key; commands go to `handler`. */
export async function connectAgent(hub: { url: string }, apiKey: string, hostname: string, handler?: CommandHandler, agentId = `agent-${randomBytes(6).toString('hex')}`): Promise<TestAgent> {
  const client = createSignalRAgentClient({ url: hub.url, apiKey, transports: ['WebSockets'], reconnectDelayMs: 200, maxReconnectDelayMs: 500 })
  if (handler) client.onCommand(handler)
  await client.connect(agentInfo(agentId, hostname))
  return { agentId, hostname, client, close: () => client.close() }
}

/** Polls `check` until it returns a truthy value, or fails with the last value seen. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  while (Date.now() < deadline) {
    last = await check()
    if (last) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(last)}`)
}

/**
 * A node of the hub's account whose commands run the real agent tools on `runtime` (a Docker engine):
 * makes an agent key, connects an agent under `hostname`, and gives back the account the key names.
 */
export async function connectDockerNode(
  hub: TestHub,
  token: string,
  hostname: string,
  runtime: ReturnType<typeof createDockerRuntime>,
  extra: { allowedBindPaths?: string[] } = {},
): Promise<{ agent: TestAgent; account: string }> {
  const key = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: hostname } })).body.key as string
  const account = /^thresh_live_([a-z0-9]+)_/.exec(key)![1]!
  let tools: ReturnType<typeof createTools>
  const agent = await connectAgent(hub, key, hostname, (command) => tools(command))
  tools = createTools({
    runtime: () => runtime,
    account,
    dataDir: tmpdir(),
    ...extra,
    agentId: agent.agentId,
    statusUpdate: (update) => void agent.client.sendStatusUpdate(update).catch(() => {}),
    metrics: async () => ({}),
    versions: async () => ({}),
  })
  return { agent, account }
}
