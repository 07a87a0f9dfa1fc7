// What the container, image, volume and node env commands share: the node argument resolved to its
// API path, and human sizes, rates and uptimes.
import { createHubClient, seg, type HubClient, type HubFlags } from '../hub-client.ts'
import { findNode, nodeFigures } from './node.ts'

export const nodeArg = { node: { type: 'positional', description: 'hostname or id prefix', required: true } } as const

/** The client and `/api/nodes/{id}` of the node named on the command line. */
export async function nodeTarget(flags: HubFlags & { node: string }): Promise<{ client: HubClient; base: string; hostname: string }> {
  const client = createHubClient(flags)
  const node = await findNode(client, flags.node)
  return { client, base: `/api/nodes/${seg(String(node.id))}`, hostname: nodeFigures(node).hostname }
}

/** Node tools can take a while on a busy engine (stats of every container, a prune). */
export const TOOL_TIMEOUT_MS = 150_000

export function bytes(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '-'
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = value
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)}${units[i]}`
}

export function megabytes(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? (value >= 1024 ? `${(value / 1024).toFixed(1)}GiB` : `${value.toFixed(1)}MiB`) : '-'
}

export function uptime(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '-'
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`
}
