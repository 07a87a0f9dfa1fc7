// `thresh cluster list|create|info|add-node|remove-node|delete`: named groups of nodes (one cluster per node).
import { defineCommand } from 'citty'
import { createHubClient, hubArgs, jsonArg, listOf, seg } from '../hub-client.ts'
import { confirm } from '../prompt.ts'
import { age, print, printJson, table } from '../table.ts'
import { findNode, formatNodes, nodeFigures, type Node } from './node.ts'

type Cluster = Record<string, unknown> & { id?: string; name?: string; description?: string; nodes?: Node[] }

const clusterArg = { cluster: { type: 'positional', description: 'cluster name', required: true } } as const
const nodeArg = { node: { type: 'positional', description: 'hostname or id prefix', required: true } } as const

const nodeCount = (c: Cluster): string =>
  typeof c.nodeCount === 'number' ? String(c.nodeCount) : Array.isArray(c.nodes) ? String(c.nodes.length) : Array.isArray(c.nodeIds) ? String(c.nodeIds.length) : '0'

const list = defineCommand({
  meta: { name: 'list', description: 'List clusters' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const clusters = listOf<Cluster>(await createHubClient(args).get('/api/clusters'), 'clusters')
    if (args.json) return printJson(clusters)
    if (clusters.length === 0) return print('No clusters yet: create one with thresh cluster create NAME.')
    print(
      table([
        ['NAME', 'DESCRIPTION', 'NODES', 'CREATED'],
        ...clusters.map((c) => [String(c.name ?? '-'), c.description || '-', nodeCount(c), age(c.createdAt)]),
      ]),
    )
    print(`\n${clusters.length} cluster(s)`)
  },
})

const create = defineCommand({
  meta: { name: 'create', description: 'Create a cluster' },
  args: { ...clusterArg, description: { type: 'string', alias: 'd', description: 'what the cluster is for' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const cluster = await createHubClient(args).post<Cluster>('/api/clusters', { name: args.cluster, description: args.description })
    if (args.json) return printJson(cluster)
    print(`✓ Created cluster ${cluster?.name ?? args.cluster}.`)
  },
})

const info = defineCommand({
  meta: { name: 'info', description: 'Show a cluster and its nodes' },
  args: { ...clusterArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const cluster = await createHubClient(args).get<Cluster>(`/api/clusters/${seg(args.cluster)}`)
    if (args.json) return printJson(cluster)
    print(
      table([
        ['Cluster:', String(cluster.name ?? args.cluster)],
        ['Description:', cluster.description || '-'],
        ['Nodes:', nodeCount(cluster)],
        ['Created:', String(cluster.createdAt ?? '-')],
      ]),
    )
    const nodes = Array.isArray(cluster.nodes) ? cluster.nodes : []
    print()
    print(nodes.length ? formatNodes(nodes) : `No nodes in this cluster: add one with thresh cluster add-node ${cluster.name ?? args.cluster} NODE.`)
  },
})

const addNode = defineCommand({
  meta: { name: 'add-node', description: 'Put a node in a cluster (it leaves its previous cluster)' },
  args: { ...clusterArg, ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const node = await findNode(client, args.node)
    const answer = await client.post(`/api/clusters/${seg(args.cluster)}/nodes`, { node: node.id })
    if (args.json) return printJson(answer ?? { cluster: args.cluster, node: node.id })
    print(`✓ Added ${nodeFigures(node).hostname} to cluster ${args.cluster}.`)
  },
})

const removeNode = defineCommand({
  meta: { name: 'remove-node', description: 'Take a node out of a cluster' },
  args: { ...clusterArg, ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const node = await findNode(client, args.node)
    const answer = await client.delete(`/api/clusters/${seg(args.cluster)}/nodes/${seg(String(node.id))}`)
    if (args.json) return printJson(answer ?? { cluster: args.cluster, node: node.id, removed: true })
    print(`✓ Removed ${nodeFigures(node).hostname} from cluster ${args.cluster}.`)
  },
})

const remove = defineCommand({
  meta: { name: 'delete', description: 'Delete a cluster (its nodes are kept)' },
  args: { ...clusterArg, force: { type: 'boolean', alias: 'f', description: 'do not ask for confirmation' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    if (!args.force && !(await confirm(`Delete cluster ${args.cluster}? Its nodes are kept.`, `Deleting cluster ${args.cluster} needs confirmation; pass --force.`))) return print('Nothing was deleted.')
    const answer = await createHubClient(args).delete(`/api/clusters/${seg(args.cluster)}`)
    if (args.json) return printJson(answer ?? { name: args.cluster, deleted: true })
    print(`✓ Deleted cluster ${args.cluster}; its nodes are kept.`)
  },
})

export default defineCommand({
  meta: { name: 'cluster', description: 'Group nodes into clusters' },
  subCommands: { list, create, info, 'add-node': addNode, 'remove-node': removeNode, delete: remove },
})
