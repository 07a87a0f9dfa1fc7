// `thresh events [--node N] [--stack S] [--since …] [--kind K] [-f]`: the fleet's event log, newest last;
// `-f` keeps following new events until interrupted: pushed by the hub over `GET /api/events/stream`,
// picked up again from the last id when the connection drops (a hub restart).
import { defineCommand } from 'citty'
import { parseDuration } from '../../core/index.ts'
import process from 'node:process'
import { createHubClient, hubArgs, jsonArg, type HubClient } from '../hub-client.ts'
import { readNdjson } from '../stream-client.ts'
import { print, printJson } from '../table.ts'

export interface FleetEvent {
  id: string
  at: string
  kind: string
  severity: string
  nodeId?: string
  stack?: string
  message: string
  details?: Record<string, unknown>
}

const MARK: Record<string, string> = { info: ' ', warning: '!', critical: '✗' }

export function formatEvent(e: FleetEvent): string {
  const time = e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
  return `${time} ${MARK[e.severity] ?? ' '} ${e.kind.padEnd(22)} ${e.message}`
}

/** `--since`: a duration back from now (`1h`, `30m`) or a time (ISO-8601). */
export function sinceOf(value: string | undefined): string | undefined {
  if (!value) return undefined
  const ms = parseDuration(value)
  if (ms !== undefined) return new Date(Date.now() - ms).toISOString()
  const at = Date.parse(value)
  if (!Number.isFinite(at)) throw new Error(`--since must be a duration such as 1h or an ISO-8601 time, got ${JSON.stringify(value)}.`)
  return new Date(at).toISOString()
}

const RETRY_MS = 2000

/** Prints events as the hub pushes them, until SIGINT/SIGTERM; reconnects after `after` when the stream ends. */
async function follow(client: HubClient, filters: Record<string, string | undefined>, after: string, show: (events: FleetEvent[]) => void): Promise<void> {
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let last = after
  let told = false
  while (!controller.signal.aborted) {
    try {
      await readNdjson(client.target, '/api/events/stream', { ...filters, after: last }, (record) => {
        if (typeof record.id !== 'string') return
        show([record as unknown as FleetEvent])
        last = record.id
        told = false
      }, controller.signal)
    } catch (error) {
      if ((error as { status?: number }).status === 401 || (error as { status?: number }).status === 403) throw error
      if (!told) process.stderr.write(`Lost the hub's event stream (${(error as Error).message}); reconnecting…\n`)
      told = true
    }
    if (!controller.signal.aborted) await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
  }
}

export default defineCommand({
  meta: { name: 'events', description: 'Show fleet events (nodes, containers, stacks, alerts); -f follows new ones' },
  args: {
    node: { type: 'string', description: 'only this node (host name or id)' },
    stack: { type: 'string', description: 'only this stack' },
    since: { type: 'string', description: 'only events after this: a duration back (1h) or a time' },
    kind: { type: 'string', description: 'only these kinds (comma-separated, e.g. container_die,node_offline)' },
    limit: { type: 'string', description: 'how many (default 50)', default: '50' },
    follow: { type: 'boolean', alias: 'f', description: 'keep printing new events' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const client = createHubClient(args)
    const limit = Number(args.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error('--limit must be a whole number from 1 to 1000.')
    const filters = { node: args.node, stack: args.stack, kind: args.kind }
    const first = await client.get<{ events: FleetEvent[] }>('/api/events', { query: { ...filters, since: sinceOf(args.since), limit: String(limit) } })
    const events = [...first.events].reverse()
    const show = (list: FleetEvent[]) => {
      for (const e of list) args.json ? print(JSON.stringify(e)) : print(formatEvent(e))
    }
    if (args.json && !args.follow) return printJson(events)
    if (events.length === 0 && !args.follow) return print('No events.')
    show(events)
    if (!args.follow) return
    let after = events.at(-1)?.id ?? first.events[0]?.id
    if (!after) {
      // Nothing yet: follow from the newest event of the whole log.
      const newest = await client.get<{ events: FleetEvent[] }>('/api/events', { query: { limit: '1' } })
      after = newest.events[0]?.id ?? '0'
    }
    await follow(client, filters, after, show)
  },
})
