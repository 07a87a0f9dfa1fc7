// `thresh volume list|remove NODE …`: the volumes on a node's Docker engine.
import { defineCommand } from 'citty'
import { hubArgs, jsonArg, seg } from '../hub-client.ts'
import { print, printJson, table } from '../table.ts'
import { nodeArg, nodeTarget, TOOL_TIMEOUT_MS } from './node-objects.ts'

interface Volume {
  name: string
  driver: string
  containers: string[]
  managedBy?: { kind: string; name: string }
}

const list = defineCommand({
  meta: { name: 'list', description: 'The volumes on a node and the containers using each' },
  args: { ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base, hostname } = await nodeTarget(args)
    const answer = await client.get<{ volumes: Volume[] }>(`${base}/volumes`, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    const volumes = answer.volumes ?? []
    if (volumes.length === 0) return print(`No volumes on ${hostname}.`)
    print(table([['VOLUME', 'DRIVER', 'STACK', 'USED BY'], ...volumes.map((v) => [v.name, v.driver, v.managedBy?.name ?? '-', v.containers.join(', ') || 'unused'])]))
  },
})

const remove = defineCommand({
  meta: { name: 'remove', description: "Remove an unused volume (one in use, or a thresh stack's, is refused)" },
  args: { ...nodeArg, volume: { type: 'positional', description: 'volume name', required: true }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base } = await nodeTarget(args)
    const answer = await client.delete<{ message: string }>(`${base}/volumes/${seg(args.volume)}`, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    print(`✓ ${answer.message}`)
  },
})

export default defineCommand({
  meta: { name: 'volume', description: "The volumes on a node's Docker engine" },
  subCommands: { list, remove },
})
