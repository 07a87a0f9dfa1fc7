// `thresh node list|info|metrics|remove|up|blueprints|env`: the account's nodes as the hub sees them.
import { defineCommand } from 'citty'
import { parseDuration, ThreshError } from '../../core/index.ts'
import { createHubClient, hubArgs, jsonArg, listOf, pickOne, seg, type HubClient } from '../hub-client.ts'
import { confirm } from '../prompt.ts'
import { ago, bar, num, print, printJson, status, table } from '../table.ts'

export type Node = Record<string, unknown> & { id?: string; hostname?: string }

const nodeArg = { node: { type: 'positional', description: 'hostname or id prefix', required: true } } as const

/** A field from the node, else from its latest metrics, whichever names the hub used. */
function field(node: Record<string, unknown>, ...names: string[]): unknown {
  const sources = [node, node.metrics, node.latestMetrics, node.lastMetrics, node.agentInfo].filter((s) => s && typeof s === 'object') as Record<string, unknown>[]
  for (const source of sources) for (const name of names) if (source[name] !== undefined && source[name] !== null) return source[name]
  return undefined
}
const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const mbToGb = (v: unknown) => (n(v) === undefined ? undefined : n(v)! / 1024)

/** The figures every node view shows, normalised to GB and percent. */
export function nodeFigures(node: Node) {
  return {
    hostname: String(field(node, 'hostname', 'name') ?? '-'),
    platform: String(field(node, 'platform', 'os') ?? '-'),
    status: String(field(node, 'status') ?? '-'),
    ip: String(field(node, 'ipAddress', 'ip') ?? '-'),
    cpuCores: n(field(node, 'cpuCores')),
    cpuPercent: n(field(node, 'cpuPercent')),
    ramUsedGb: n(field(node, 'ramUsedGb')) ?? mbToGb(field(node, 'memoryUsedMB', 'memoryUsedMb')),
    ramTotalGb: n(field(node, 'ramTotalGb')) ?? mbToGb(field(node, 'memoryTotalMB', 'memoryTotalMb')),
    diskUsedGb: n(field(node, 'diskUsedGb', 'diskUsedGB')),
    diskTotalGb: n(field(node, 'diskTotalGb', 'diskTotalGB')),
    environments: n(field(node, 'environmentCount', 'containersRunning')),
    lastSeenAt: field(node, 'lastSeenAt', 'lastSeen', 'lastMetricsAt'),
    version: field(node, 'threshVersion', 'agentVersion', 'version'),
    cluster: field(node, 'cluster', 'clusterName'),
  }
}

export async function listNodes(client: HubClient): Promise<Node[]> {
  return listOf<Node>(await client.get('/api/nodes'), 'nodes')
}

/** Resolves a hostname or id prefix through the list call, as the original did. */
export async function findNode(client: HubClient, arg: string): Promise<Node> {
  return pickOne(await listNodes(client), arg, 'node', (node) => [node.hostname, node.name])
}

export function formatNodes(nodes: Node[]): string {
  if (nodes.length === 0) return 'No nodes yet: start an agent with an agent key (thresh keys create --type agent).'
  const rows = nodes.map((node) => {
    const f = nodeFigures(node)
    return [
      f.hostname,
      f.platform,
      status(f.status),
      f.ip,
      f.cpuPercent === undefined ? '-' : `${num(f.cpuPercent)}%`,
      f.ramTotalGb === undefined ? '-' : `${num(f.ramUsedGb ?? 0)}/${num(f.ramTotalGb)}`,
      f.diskTotalGb === undefined ? '-' : `${num(f.diskTotalGb, 0)}G`,
      f.environments === undefined ? '-' : String(f.environments),
      ago(f.lastSeenAt),
    ]
  })
  const online = nodes.filter((node) => nodeFigures(node).status === 'online').length
  return `${table([['HOSTNAME', 'PLATFORM', 'STATUS', 'IP', 'CPU', 'RAM (GB)', 'DISK', 'ENVS', 'LAST SEEN'], ...rows])}\n\n${nodes.length} node(s) • ${online} online`
}

const list = defineCommand({
  meta: { name: 'list', description: 'List nodes' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const nodes = await listNodes(createHubClient(args))
    if (args.json) printJson(nodes)
    else print(formatNodes(nodes))
  },
})

const info = defineCommand({
  meta: { name: 'info', description: 'Show one node' },
  args: { ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const found = await findNode(client, args.node)
    const node = (await client.get<Node>(`/api/nodes/${seg(String(found.id))}`)) ?? found
    if (args.json) return printJson(node)
    const f = nodeFigures(node)
    const rows: string[][] = [
      ['Hostname:', f.hostname],
      ['ID:', String(node.id ?? found.id)],
      ['Status:', status(f.status)],
      ['Platform:', f.platform],
      ['IP:', f.ip],
      ['Agent:', f.version === undefined ? '-' : String(f.version)],
      ['CPU:', `${f.cpuCores ?? '-'} cores${f.cpuPercent === undefined ? '' : `, ${num(f.cpuPercent)}% used`}`],
      ['Memory:', f.ramTotalGb === undefined ? '-' : `${num(f.ramUsedGb ?? 0)} / ${num(f.ramTotalGb)} GB`],
      ['Disk:', f.diskTotalGb === undefined ? '-' : `${f.diskUsedGb === undefined ? '' : `${num(f.diskUsedGb)} / `}${num(f.diskTotalGb)} GB`],
      ['Environments:', f.environments === undefined ? '-' : String(f.environments)],
      ['Cluster:', typeof f.cluster === 'string' ? f.cluster : f.cluster && typeof f.cluster === 'object' ? String((f.cluster as Record<string, unknown>).name ?? '-') : '-'],
      ['Registered:', String(field(node, 'registeredAt') ?? '-')],
      ['Last seen:', ago(f.lastSeenAt)],
    ]
    print(table(rows))
  },
})

/** `1h` means an hour ago; anything else must be a date the hub can read. */
function timeArg(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined
  const ms = parseDuration(value)
  if (ms !== undefined) return new Date(Date.now() - ms).toISOString()
  if (Number.isNaN(Date.parse(value))) {
    throw new ThreshError({ code: 'time_invalid', message: `--${name} '${value}' is neither a date (2026-01-31T12:00:00Z) nor a time ago (15m, 24h, 7d).` })
  }
  return new Date(value).toISOString()
}

const sparks = '▁▂▃▄▅▆▇█'
function sparkline(values: number[], width = 48): string {
  if (values.length === 0) return ''
  const step = Math.max(1, Math.ceil(values.length / width))
  const points: number[] = []
  for (let i = 0; i < values.length; i += step) points.push(Math.max(...values.slice(i, i + step)))
  return points.map((v) => sparks[Math.min(7, Math.max(0, Math.floor((v / 100) * 8)))]).join('')
}

const metrics = defineCommand({
  meta: { name: 'metrics', description: 'Show a node metrics: latest values as bars, CPU over the window' },
  args: {
    ...nodeArg,
    from: { type: 'string', description: 'start: a date or a time ago (1h, 7d)' },
    to: { type: 'string', description: 'end: a date or a time ago' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const client = createHubClient(args)
    const node = await findNode(client, args.node)
    const data = await client.get<Record<string, unknown> | unknown[]>(`/api/nodes/${seg(String(node.id))}/metrics`, {
      query: { from: timeArg(args.from, 'from'), to: timeArg(args.to, 'to') },
    })
    if (args.json) return printJson(data)
    const samples = ['points', 'samples', 'metrics'].map((key) => listOf<Record<string, unknown>>(data, key)).find((list) => list.length > 0) ?? []
    const latest = samples.at(-1) ?? (data && !Array.isArray(data) ? data : {})
    const f = nodeFigures({ ...node, metrics: undefined, ...latest } as Node)
    const resolution = !Array.isArray(data) && typeof data?.resolution === 'string' ? `, ${data.resolution} resolution` : ''
    print(`${f.hostname} — ${status(f.status === '-' ? nodeFigures(node).status : f.status)}${samples.length ? ` — ${samples.length} point(s)${resolution}` : ''}`)
    print()
    const rows: string[][] = []
    if (f.cpuPercent !== undefined) rows.push(['CPU', bar(f.cpuPercent)])
    if (f.ramTotalGb) rows.push(['Memory', `${bar(((f.ramUsedGb ?? 0) / f.ramTotalGb) * 100)}  ${num(f.ramUsedGb ?? 0)} / ${num(f.ramTotalGb)} GB`])
    if (f.diskTotalGb && f.diskUsedGb !== undefined) rows.push(['Disk', `${bar((f.diskUsedGb / f.diskTotalGb) * 100)}  ${num(f.diskUsedGb)} / ${num(f.diskTotalGb)} GB`])
    for (const disk of (Array.isArray(latest.disks) ? latest.disks : []) as Record<string, unknown>[]) {
      const used = n(disk.usedGB) ?? n(disk.usedGb)
      const total = n(disk.totalGB) ?? n(disk.totalGb)
      if (used !== undefined && total) rows.push([`  ${String(disk.mount ?? '?')}`, `${bar((used / total) * 100)}  ${num(used)} / ${num(total)} GB`])
    }
    if (f.environments !== undefined) rows.push(['Containers', String(f.environments)])
    if (rows.length === 0) return print('No metrics in this window.')
    print(table(rows))
    const cpu = samples.map((s) => n(s.cpuPercent)).filter((v): v is number => v !== undefined)
    if (cpu.length > 1) print(`\nCPU  ${sparkline(cpu)}  (${samples[0]?.timestamp ?? ''} → ${samples.at(-1)?.timestamp ?? ''})`)
  },
})

const remove = defineCommand({
  meta: { name: 'remove', description: 'Forget a node (its agent may register again)' },
  args: { ...nodeArg, force: { type: 'boolean', alias: 'f', description: 'do not ask for confirmation (an online node is disconnected)' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const node = await findNode(client, args.node)
    const name = nodeFigures(node).hostname
    if (!args.force && !(await confirm(`Remove node ${name} (${String(node.id).slice(0, 8)}) from the hub?`, `Removing node ${name} needs confirmation; pass --force.`))) {
      return print('Nothing was removed.')
    }
    // Confirmed (or --force): the hub's own guard for online nodes is lifted too.
    const answer = await client.delete(`/api/nodes/${seg(String(node.id))}`, { query: { force: 'true' } })
    if (args.json) return printJson(answer ?? { id: node.id, removed: true })
    print(`✓ Removed node ${name}.`)
  },
})

/** The text of an agent command result, or its error as a ThreshError. */
function commandOutput(answer: unknown, what: string): string {
  const result = (answer && typeof answer === 'object' ? answer : {}) as Record<string, unknown>
  const error = result.error ?? (result.success === false || result.status === 'error' ? result.message ?? 'failed' : undefined)
  if (typeof error === 'string' && error) throw new ThreshError({ code: 'command_failed', message: `${what} failed on the node: ${error.replace(/\.$/, '')}.` })
  const output = result.output
  return typeof output === 'string' ? output : output === undefined ? '' : JSON.stringify(output, null, 2)
}

const up = defineCommand({
  meta: { name: 'up', description: 'Create an environment from a blueprint on a node' },
  args: {
    ...nodeArg,
    blueprint: { type: 'positional', description: 'blueprint name', required: true },
    name: { type: 'string', alias: 'n', description: 'environment name (default: the blueprint name)' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const client = createHubClient(args)
    const node = await findNode(client, args.node)
    const name = nodeFigures(node).hostname
    if (!args.json) print(`🚀 Creating ${args.name ?? args.blueprint} from blueprint ${args.blueprint} on ${name}…`)
    const answer = await client.post(`/api/nodes/${seg(String(node.id))}/up`, { blueprint: args.blueprint, name: args.name }, { timeoutMs: 130_000 })
    if (args.json) return printJson(answer)
    const output = commandOutput(answer, `Creating ${args.name ?? args.blueprint}`)
    if (output) print(output)
    print(`✓ Environment ${args.name ?? args.blueprint} is up on ${name}.`)
  },
})

const blueprints = defineCommand({
  meta: { name: 'blueprints', description: 'List the blueprints a node offers' },
  args: { ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const node = await findNode(client, args.node)
    const answer = await client.get(`/api/nodes/${seg(String(node.id))}/blueprints`, { timeoutMs: 60_000 })
    if (args.json) return printJson(answer)
    const items = listOf<Record<string, unknown> | string>(answer, 'blueprints')
    if (items.length > 0) {
      print(
        table([
          ['NAME', 'DESCRIPTION'],
          ...items.map((b) => (typeof b === 'string' ? [b, ''] : [String(b.name ?? '-'), String(b.description ?? '')])),
        ]),
      )
      return
    }
    print(commandOutput(answer, 'Listing blueprints') || 'This node offers no blueprints.')
  },
})

// Loaded on use; node-env.ts imports this file.
const env = () => import('./node-env.ts').then((m) => m.default)

export default defineCommand({
  meta: { name: 'node', description: 'List, inspect and manage the nodes of the fleet' },
  subCommands: { list, info, metrics, remove, up, blueprints, env },
})
