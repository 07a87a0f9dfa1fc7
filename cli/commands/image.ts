// `thresh image list|remove|prune NODE …`: the images on a node's Docker engine.
import { defineCommand } from 'citty'
import { hubArgs, jsonArg, seg } from '../hub-client.ts'
import { age, print, printJson, table } from '../table.ts'
import { megabytes, nodeArg, nodeTarget, TOOL_TIMEOUT_MS } from './node-objects.ts'

interface Image {
  id: string
  tags: string[]
  sizeMB: number
  createdAt: string
  containers: number
}

const list = defineCommand({
  meta: { name: 'list', description: 'The images on a node and how many containers use each' },
  args: { ...nodeArg, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base, hostname } = await nodeTarget(args)
    const answer = await client.get<{ images: Image[] }>(`${base}/images`, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    const images = answer.images ?? []
    if (images.length === 0) return print(`No images on ${hostname}.`)
    print(table([['IMAGE', 'ID', 'SIZE', 'CREATED', 'CONTAINERS'], ...images.map((i) => [i.tags.join(', ') || '<none>', i.id, megabytes(i.sizeMB), `${age(i.createdAt)} ago`, i.containers ? String(i.containers) : 'unused'])]))
  },
})

const remove = defineCommand({
  meta: { name: 'remove', description: 'Remove an image (Docker refuses one a container uses)' },
  args: { ...nodeArg, image: { type: 'positional', description: 'image name, name:tag or id', required: true }, force: { type: 'boolean', alias: 'f', description: 'remove it even when several tags name it' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base } = await nodeTarget(args)
    const answer = await client.delete<{ message: string }>(`${base}/images/${seg(args.image)}`, { query: { force: args.force ? 'true' : undefined }, timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    print(`✓ ${answer.message}`)
  },
})

const prune = defineCommand({
  meta: { name: 'prune', description: 'Remove dangling images, or with --all every image no container uses' },
  args: { ...nodeArg, all: { type: 'boolean', alias: 'a', description: 'every unused image, not only dangling ones' }, label: { type: 'string', description: 'only images with this label (KEY or KEY=VALUE)' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const { client, base } = await nodeTarget(args)
    const answer = await client.post<{ message: string; untagged: string[] }>(`${base}/images/prune`, { all: Boolean(args.all), ...(args.label ? { label: args.label } : {}) }, { timeoutMs: TOOL_TIMEOUT_MS })
    if (args.json) return printJson(answer)
    for (const tag of answer.untagged ?? []) print(`  untagged ${tag}`)
    print(`✓ ${answer.message}`)
  },
})

export default defineCommand({
  meta: { name: 'image', description: "The images on a node's Docker engine" },
  subCommands: { list, remove, prune },
})
