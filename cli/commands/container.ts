// `thresh container list|start|stop|restart|remove NODE …`: every container on a node's Docker
// engine, grouped by thresh stack and Compose project. More subcommands (logs, exec) register in
// `subCommands` below from their own files.
import { defineCommand } from 'citty'
import { hubArgs, jsonArg, seg } from '../hub-client.ts'
import { num, print, printJson, status, table } from '../table.ts'
import { containerExec, containerLogs } from './container-streams.ts'
import { bytes, megabytes, nodeArg, nodeTarget, TOOL_TIMEOUT_MS, uptime } from './node-objects.ts'

interface Container {
  id: string
  name: string
  image: string
  state: string
  health: string | null
  uptimeSeconds: number | null
  restartCount: number
  ports: string[]
  cpuPercent?: number
  memoryMB?: number
  memoryLimitMB?: number
  netRxBytes?: number
  netTxBytes?: number
  managedBy?: { kind: string; name: string }
}
interface Group {
  kind: 'stack' | 'compose' | 'other'
  name: string | null
  containers: Container[]
}

const heading = (g: Group) => (g.kind === 'stack' ? `Stack ${g.name} (thresh: change it with thresh stack …)` : g.kind === 'compose' ? `Compose project ${g.name}` : 'Other containers')

export function formatContainers(groups: Group[], hostname: string): string {
  const count = groups.reduce((n, g) => n + g.containers.length, 0)
  if (count === 0) return `No containers on ${hostname}.`
  const blocks = groups.map((g) => {
    const rows = g.containers.map((c) => [
      c.name,
      status(c.state) + (c.health ? ` (${c.health})` : ''),
      c.image,
      uptime(c.uptimeSeconds),
      String(c.restartCount),
      c.cpuPercent === undefined ? '-' : `${num(c.cpuPercent, 1)}%`,
      c.memoryMB === undefined ? '-' : megabytes(c.memoryMB),
      c.netRxBytes === undefined ? '-' : `${bytes(c.netRxBytes)}/${bytes(c.netTxBytes)}`,
      c.ports.join(', ') || '-',
    ])
    return `${heading(g)}\n${table([['NAME', 'STATE', 'IMAGE', 'UPTIME', 'RESTARTS', 'CPU', 'MEM', 'NET RX/TX', 'PORTS'], ...rows])}`
  })
  const running = groups.reduce((n, g) => n + g.containers.filter((c) => c.state === 'running').length, 0)
  return `${blocks.join('\n\n')}\n\n${count} container(s) on ${hostname} • ${running} running`
}

const list = defineCommand({
  meta: { name: 'list', description: 'Every container on a node, grouped by stack and Compose project, with live usage' },
  args: { ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base, hostname } = await nodeTarget(args)
    const answer = await client.get<{ groups: Group[] }>(`${base}/containers`, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    print(formatContainers(answer.groups ?? [], hostname))
  },
})

const containerArgs = { ...nodeArg, container: { type: 'positional', description: 'container name or id', required: true } } as const

function action(name: 'start' | 'stop' | 'restart', description: string) {
  return defineCommand({
    meta: { name, description },
    args: { ...containerArgs, ...hubArgs, ...jsonArg },
    async run({ args }) {
      const { client, base } = await nodeTarget(args)
      const answer = await client.post<{ message: string }>(`${base}/containers/${seg(args.container)}/${name}`, undefined, { timeoutMs: TOOL_TIMEOUT_MS })
      if (args.json) return printJson(answer)
      print(`✓ ${answer.message}`)
    },
  })
}

const remove = defineCommand({
  meta: { name: 'remove', description: 'Remove a container (a running one needs --force)' },
  args: { ...containerArgs, force: { type: 'boolean', alias: 'f', description: 'remove it even if it is running' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base } = await nodeTarget(args)
    const answer = await client.delete<{ message: string }>(`${base}/containers/${seg(args.container)}`, { query: { force: args.force ? 'true' : undefined }, timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    print(`✓ ${answer.message}`)
  },
})

export const containerSubCommands = {
  list,
  start: action('start', 'Start a container'),
  stop: action('stop', 'Stop a container'),
  restart: action('restart', 'Restart a container'),
  remove,
  logs: containerLogs,
  exec: containerExec,
}

export default defineCommand({
  meta: { name: 'container', description: "Every container on a node's Docker engine (containers of a thresh stack change through the stack); logs and exec" },
  subCommands: containerSubCommands,
})
