// A small hub for mid-tier tests: the real `/midtierhub` (plugins/hub-fleet/midtier-hub.ts) on the
// real SignalR server, with keys and fleet state kept in memory and exposed for assertions.
import { Hono } from 'hono'
import { loadRuntime } from '../../adapters/index.ts'
import type { AgentCommand, AgentInfo, CommandResult, MetricsData } from '../../lib/agent-session/protocol.ts'
import { createSignalRServer } from '../../lib/signalr/index.ts'
import type { AuthService, Principal } from '../../plugins/hub-auth/index.ts'
import { mountMidtierHub, type MidtierRouter } from '../../plugins/hub-fleet/midtier-hub.ts'

export const ACCOUNT = 'acct1'

export interface TestHubState {
  /** Valid keys: token -> key id. */
  keys: Map<string, { keyId: string; kind: 'live' | 'mid'; accountId: string }>
  nodes: Map<string, { info: AgentInfo; tier: string; online: boolean; keyId?: string }>
  samples: MetricsData[]
  results: CommandResult[]
  validations: number
  /** With batchDelayMs: the most metric batches the hub held (stored, not yet acknowledged) at once. */
  mostBatchesHeld?: number
  /** Container events relayed (SendEvents), when a test wants them. */
  events?: Array<{ agentId: string; events: unknown[] }>
}

export interface TestHub {
  url: string
  port: number
  state: TestHubState
  router: MidtierRouter
  /** Sends a command to an agent through whichever mid-tier holds it; resolves with its result. */
  command(agentId: string, command: AgentCommand, timeoutMs?: number): Promise<CommandResult>
  revoke(token: string): void
  close(): Promise<void>
}

let counter = 0
export function newKey(kind: 'live' | 'mid' | 'cli', account = ACCOUNT): string {
  counter++
  return `thresh_${kind}_${account}_${process.pid}x${counter}x${Math.random().toString(36).slice(2, 14)}`
}

const httpError = (status: number, message: string) => Object.assign(new Error(message), { status, code: status === 401 ? 'unauthorized' : 'forbidden' })

/** Starts the test hub; pass the previous state (and port) to bring "the same hub" back after close(). */
export async function startTestHub(options: { port?: number; state?: TestHubState; tls?: { cert: string; key: string }; batchDelayMs?: number } = {}): Promise<TestHub> {
  const runtime = await loadRuntime()
  const app = new Hono()
  const http = runtime.createServer(app)
  const state: TestHubState = options.state ?? { keys: new Map(), nodes: new Map(), samples: [], results: [], validations: 0 }
  let held = 0
  const waiters = new Map<string, (result: CommandResult) => void>()

  const authenticate = async (bearer: string | undefined, scope: string | readonly string[]): Promise<Principal> => {
    const key = bearer ? state.keys.get(bearer) : undefined
    if (!key) throw httpError(401, 'The key is unknown.')
    if (!(typeof scope === 'string' ? [scope] : scope).includes(key.kind)) throw httpError(403, 'Wrong scope.')
    return { kind: key.kind, accountId: key.accountId, keyId: key.keyId, roles: [] }
  }
  const auth = { authenticate } as unknown as AuthService

  const signalr = createSignalRServer({ app, upgradeWebSocket: http.upgradeWebSocket })
  const router = mountMidtierHub(signalr, auth, {
    async register(_principal, info, tier, keyId) {
      state.nodes.set(info.agentId, { info, tier, online: true, ...(keyId ? { keyId } : {}) })
    },
    metrics(_accountId, _agentId, metrics) {
      state.samples.push(metrics)
      return true
    },
    // With a delay: a hub whose database takes this long to commit each batch (stored, then acknowledged).
    ...(options.batchDelayMs === undefined
      ? {}
      : {
          async metricsBatch(_accountId: string, samples: Array<{ metrics: MetricsData }>) {
            for (const s of samples) state.samples.push(s.metrics)
            held++
            state.mostBatchesHeld = Math.max(state.mostBatchesHeld ?? 0, held)
            await new Promise((resolve) => setTimeout(resolve, options.batchDelayMs))
            held--
            return samples.length
          },
        }),
    async commandResult(_accountId, _agentId, result) {
      state.results.push(result)
      waiters.get(result.commandId)?.(result)
    },
    async statusUpdate() {},
    events(_accountId, agentId, events) {
      state.events?.push({ agentId, events })
    },
    async gone(_accountId, agentId) {
      const node = state.nodes.get(agentId)
      if (node) node.online = false
    },
    pending: () => [],
  })

  app.post('/api/v1/keys/validate', async (c) => {
    const header = c.req.header('authorization') ?? ''
    let principal: Principal
    try {
      principal = await authenticate(header.replace(/^bearer\s+/i, ''), 'mid')
    } catch (error) {
      return c.json({ error: 'unauthorized', message: (error as Error).message }, (error as { status: number }).status as 401)
    }
    state.validations++
    const { key } = (await c.req.json()) as { key?: string }
    const found = key ? state.keys.get(key) : undefined
    if (!found || found.kind !== 'live' || found.accountId !== principal.accountId) return c.json({ valid: false, account_id: null })
    return c.json({ valid: true, account_id: found.accountId, key_id: found.keyId })
  })

  const listening = await http.listen({ host: '127.0.0.1', port: options.port ?? 0, ...(options.tls ? { tls: options.tls } : {}) })
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${listening.port}`,
    port: listening.port,
    state,
    router,
    command(agentId, command, timeoutMs = 10_000) {
      const connectionId = router.connectionFor(ACCOUNT, agentId)
      if (!connectionId) return Promise.reject(new Error(`No mid-tier holds agent ${agentId}.`))
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`No result for ${command.commandId} within ${timeoutMs} ms.`)), timeoutMs)
        waiters.set(command.commandId, (result) => {
          clearTimeout(timer)
          resolve(result)
        })
        router.send(connectionId, agentId, command)
      })
    },
    revoke(token) {
      const key = state.keys.get(token)
      state.keys.delete(token)
      if (key) router.closeKey(key.keyId, 'revoked')
    },
    async close() {
      await signalr.close()
      await listening.close()
    },
  }
}

export function addKey(hub: { state: TestHubState }, kind: 'live' | 'mid', account = ACCOUNT): string {
  const token = newKey(kind, account)
  hub.state.keys.set(token, { keyId: `key-${counter}`, kind, accountId: account })
  return token
}
