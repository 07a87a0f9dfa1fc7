// `thresh node env list|remove NODE …`: the environments `thresh node up` made on a node.
import { defineCommand } from 'citty'
import { hubArgs, jsonArg, seg } from '../hub-client.ts'
import { confirm } from '../prompt.ts'
import { print, printJson, status, table } from '../table.ts'
import { nodeArg, nodeTarget, TOOL_TIMEOUT_MS } from './node-objects.ts'

interface Environment {
  name: string
  status: string
  services: Array<{ name: string; image?: string; status?: string }>
}

const list = defineCommand({
  meta: { name: 'list', description: 'The environments on a node (made with thresh node up)' },
  args: { ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base, hostname } = await nodeTarget(args)
    const answer = await client.get<{ environments: Environment[] }>(`${base}/environments`, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    const envs = answer.environments ?? []
    if (envs.length === 0) return print(`No environments on ${hostname}: create one with thresh node up ${hostname} BLUEPRINT.`)
    print(table([['NAME', 'STATUS', 'SERVICES'], ...envs.map((e) => [e.name, status(e.status), e.services.map((s) => `${s.name} (${s.image ?? '?'})`).join(', ') || '-'])]))
  },
})

const remove = defineCommand({
  meta: { name: 'remove', description: 'Remove an environment with its containers, network and volumes' },
  args: { ...nodeArg, name: { type: 'positional', description: 'environment name', required: true }, yes: { type: 'boolean', alias: 'y', description: 'do not ask for confirmation' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base, hostname } = await nodeTarget(args)
    if (!args.yes && !(await confirm(`Remove environment ${args.name} on ${hostname} with its volumes?`, `Removing environment ${args.name} needs confirmation; pass --yes.`))) return print('Nothing was removed.')
    const answer = await client.delete<{ message: string }>(`${base}/environments/${seg(args.name)}`, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    print(`✓ ${answer.message}`)
  },
})

export default defineCommand({
  meta: { name: 'env', description: 'Environments made with thresh node up: list and remove' },
  subCommands: { list, remove },
})
