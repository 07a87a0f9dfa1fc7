// Agent keys checked with the hub (`POST /api/v1/keys/validate`, CONTRACT §5), each answer trusted
// for at most `ttlMs` so a revoked key is refused (and its agents dropped) within that time.
import * as signalR from '@microsoft/signalr'
import { createHash } from 'node:crypto'
import { ThreshError } from '../../core/index.ts'
import type { AgentPrincipal } from '../../lib/agent-session/server/index.ts'

export interface KeyValidatorOptions {
  /** The hub to ask: the one the mid-tier is connected to (it may move between the fleet's hubs). */
  hub: () => { url: string; client: signalR.HttpClient }
  midKey: string
  /** Longest an answer is trusted (<= 60 s). */
  ttlMs: number
  /** A refused key is asked about again after this (default min(ttlMs, 10 s)). */
  negativeTtlMs?: number
  timeoutMs?: number
  now?: () => number
}

interface Answer {
  at: number
  valid: boolean
  accountId: string | null
  keyId: string | null
}

export interface KeyValidator {
  /** The agent behind a live key; throws 401 for a refused key, 503 when the hub cannot answer. */
  authenticate(token: string | undefined): Promise<AgentPrincipal>
  /** Asks the hub again about keys whose answer is older than `olderThanMs`; returns the key ids now refused. */
  recheck(keyIds: Iterable<string>, olderThanMs: number): Promise<string[]>
  /** Forgets what is known about a key (the hub said its agent must go). */
  forgetKey(keyId: string): void
  readonly lookups: number
}

const MAX_CACHED = 100_000

const unauthorized = (message: string) => new ThreshError({ code: 'unauthorized', status: 401, plugin: 'midtier-relay', message })

export function createKeyValidator(options: KeyValidatorOptions): KeyValidator {
  const now = options.now ?? Date.now
  const negativeTtlMs = options.negativeTtlMs ?? Math.min(options.ttlMs, 10_000)
  const answers = new Map<string, Answer>()
  const inFlight = new Map<string, Promise<Answer>>()
  const tokenOfKey = new Map<string, string>()
  let lookups = 0

  const ask = (token: string): Promise<Answer> => {
    let pending = inFlight.get(token)
    if (pending) return pending
    pending = (async () => {
      lookups++
      let response: signalR.HttpResponse
      const hub = options.hub()
      try {
        response = await hub.client.post(`${hub.url.replace(/\/+$/, '')}/api/v1/keys/validate`, {
          content: JSON.stringify({ key: token }),
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${options.midKey}` },
          timeout: options.timeoutMs ?? 10_000,
        })
      } catch (cause) {
        const status = (cause as { statusCode?: number }).statusCode
        const reason = status ? `it answered ${status}${status === 401 || status === 403 ? ' (is the mid-tier key valid?)' : ''}` : (cause as Error).message
        throw new ThreshError({ code: 'hub_unreachable', status: 503, plugin: 'midtier-relay', message: `The hub could not validate the agent key: ${reason}.`, cause })
      }
      let body: { valid?: unknown; account_id?: unknown; key_id?: unknown }
      try {
        body = JSON.parse(String(response.content ?? '')) as typeof body
      } catch (cause) {
        throw new ThreshError({ code: 'hub_unreachable', status: 503, plugin: 'midtier-relay', message: 'The hub answered the key validation with something other than JSON.', cause })
      }
      const answer: Answer = {
        at: now(),
        valid: body.valid === true && typeof body.account_id === 'string',
        accountId: typeof body.account_id === 'string' ? body.account_id : null,
        keyId: typeof body.key_id === 'string' ? body.key_id : null,
      }
      answers.delete(token)
      answers.set(token, answer)
      if (answers.size > MAX_CACHED) answers.delete(answers.keys().next().value as string)
      return answer
    })().finally(() => inFlight.delete(token))
    inFlight.set(token, pending)
    return pending
  }

  const keyIdOf = (token: string, answer: Answer) => answer.keyId ?? `key-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`

  const principalOf = (token: string, answer: Answer): AgentPrincipal => {
    if (!answer.valid || !answer.accountId) throw unauthorized('The agent key is unknown, revoked or expired, or belongs to another account.')
    const keyId = keyIdOf(token, answer)
    tokenOfKey.set(keyId, token)
    return { accountId: answer.accountId, keyId, scope: 'live' }
  }

  return {
    async authenticate(token) {
      if (!token) throw unauthorized('A credential is required: send Authorization: Bearer <thresh_live_ key>.')
      if (!token.startsWith('thresh_live_')) {
        throw new ThreshError({ code: 'forbidden', status: token.startsWith('thresh_') ? 403 : 401, plugin: 'midtier-relay', message: 'Agents connect with an agent key (thresh_live_…).' })
      }
      const cached = answers.get(token)
      if (cached && now() - cached.at < (cached.valid ? options.ttlMs : negativeTtlMs)) return principalOf(token, cached)
      try {
        return principalOf(token, await ask(token))
      } catch (error) {
        // While the hub is unreachable a key it accepted before still lets its agent back in: the
        // hub cannot have told anyone about a revocation it could not serve either.
        if ((error as ThreshError).code === 'hub_unreachable' && cached?.valid) return principalOf(token, cached)
        throw error
      }
    },
    async recheck(keyIds, olderThanMs) {
      const refused: string[] = []
      await Promise.all(
        [...new Set(keyIds)].map(async (keyId) => {
          const token = tokenOfKey.get(keyId)
          if (!token) return
          const cached = answers.get(token)
          if (cached && now() - cached.at < olderThanMs) {
            if (!cached.valid) refused.push(keyId)
            return
          }
          try {
            const answer = await ask(token)
            if (!answer.valid) refused.push(keyId)
          } catch {
            // The hub is unreachable: keep the agents, ask again on the next sweep.
          }
        }),
      )
      return refused
    },
    forgetKey(keyId) {
      const token = tokenOfKey.get(keyId)
      if (token) answers.delete(token)
    },
    get lookups() {
      return lookups
    },
  }
}
