// `thresh stack`: validate, plan, deploy and manage stacks; without --hub on the local Docker engine.
import { createInterface } from 'node:readline/promises'
import process from 'node:process'
import { defineCommand } from 'citty'
import { ThreshError } from '../../core/index.ts'
import {
  destroyLocal,
  infoLocal,
  listLocal,
  planLocal,
  startLocal,
  stopLocal,
  updateLocal,
  upLocal,
  validateLocal,
} from './stack-local.ts'
import { stackExec, stackLogs } from './container-streams.ts'
import { readStackFile, type StackFileOptions } from './stack-file.ts'
import { formatInfo, formatList, formatPlan, progressPrinter } from './stack-output.ts'
import { destroyRemote, formatRemoteInfo, formatRemoteList, infoRemote, listRemote, remoteClient, startRemote, stopRemote, updateRemote, upRemote } from './stack-remote.ts'

const out = (line: string) => process.stdout.write(`${line}\n`)
const err = (line: string) => process.stderr.write(`${line}\n`)
const json = (value: unknown) => out(JSON.stringify(value, null, 2))

const hubArg = {
  hub: { type: 'string', description: 'act on stacks through this hub (default: the logged-in hub, else THRESH_HUB_URL, else the local Docker engine)' },
  insecure: { type: 'boolean', description: 'do not verify the hub TLS certificate' },
  local: { type: 'boolean', description: 'use the local Docker engine even when logged in to a hub' },
} as const
const detachArg = { detach: { type: 'boolean', alias: 'd', description: 'with a hub: return once the hub accepted the command' } } as const
const jsonArg = { json: { type: 'boolean', description: 'print JSON' } } as const
const nameArg = { name: { type: 'positional', description: 'stack name', required: true } } as const
const fileArg = {
  file: { type: 'positional', description: 'stack definition (thresh JSON, or compose.yaml / docker-compose.yml)', required: true },
  'env-file': { type: 'string', description: 'compose: read variables from this file instead of the .env beside the stack file' },
  'ignore-unsupported': { type: 'boolean', description: 'compose: leave out keys thresh does not support (warnings instead of errors)' },
} as const
const fileOptions = (args: { 'env-file'?: string; 'ignore-unsupported'?: boolean }, extra: StackFileOptions = {}): StackFileOptions => ({
  ...(args['env-file'] !== undefined ? { envFile: args['env-file'] } : {}),
  ...(args['ignore-unsupported'] ? { ignoreUnsupported: true } : {}),
  ...extra,
})

const validate = defineCommand({
  meta: { name: 'validate', description: 'Check a stack definition and report every problem' },
  args: { ...fileArg, ...hubArg, ...jsonArg },
  async run({ args }) {
    if (args.json) {
      const warnings: string[] = []
      try {
        const stack = await validateLocal(args.file, (line) => line.startsWith('warning: ') && warnings.push(line.slice(9)), fileOptions(args))
        json({ valid: true, name: stack.name, services: stack.services.length, ...(warnings.length ? { warnings } : {}) })
      } catch (error) {
        if (!(error instanceof ThreshError) || error.code !== 'stack_invalid') throw error
        json({ valid: false, errors: error.details, ...(warnings.length ? { warnings } : {}) })
        process.exitCode = 1
      }
      return
    }
    const stack = await validateLocal(args.file, err, fileOptions(args))
    out(`✓ ${args.file} is a valid stack: ${stack.name} (${stack.services.length} services)`)
  },
})

const plan = defineCommand({
  meta: { name: 'plan', description: 'Show the start order, resolved env and Docker objects of a stack' },
  args: { ...fileArg, ...hubArg, ...jsonArg },
  async run({ args }) {
    const result = await planLocal(args.file, err, fileOptions(args))
    if (args.json) json(result)
    else out(formatPlan(result))
  },
})

/** `--rollback-on-failure` asks for rollback even on a first deploy; `--no-rollback` turns it off; neither: the default. */
function rollbackChoice(rollback: boolean | undefined, onFailure: boolean | undefined): { rollback?: boolean } {
  if (onFailure && rollback === false) {
    throw new ThreshError({ code: 'flags_conflict', message: '--rollback-on-failure and --no-rollback contradict each other; pass one of them.' })
  }
  if (onFailure) return { rollback: true }
  return typeof rollback === 'boolean' ? { rollback } : {}
}

const up = defineCommand({
  meta: { name: 'up', description: 'Deploy a stack (local Docker engine unless --hub is given)' },
  args: {
    ...fileArg,
    ...hubArg,
    node: { type: 'string', description: 'with a hub: deploy to this node (hostname or id prefix)' },
    cluster: { type: 'string', description: 'with a hub: deploy to the least loaded node of this cluster' },
    rollback: { type: 'boolean', description: 'when a service fails, put every changed service back as it was (default for a redeploy; --no-rollback keeps what started)' },
    'rollback-on-failure': { type: 'boolean', description: 'a first deploy that fails leaves nothing behind (and a redeploy rolls back)' },
    ...detachArg,
    ...jsonArg,
  },
  async run({ args }) {
    const rollback = rollbackChoice(args.rollback, args['rollback-on-failure'])
    const client = remoteClient(args)
    if (client) {
      const stack = await upRemote(client, args.file, { node: args.node, cluster: args.cluster, detach: args.detach, quiet: args.json, ...fileOptions(args), ...rollback })
      if (args.json) json(stack)
      else if (!args.detach) out(`Stack ${stack.name} is ${stack.status} (${stack.services?.length ?? 0} services).`)
      return
    }
    const state = await upLocal(args.file, err, args.json ? () => {} : progressPrinter(out), { ...fileOptions(args), ...rollback })
    if (args.json) json(state)
    else out(`Stack ${state.name} is running (${state.services.length} services).`)
  },
})

const convert = defineCommand({
  meta: { name: 'convert', description: 'Print the thresh JSON definition a compose file becomes' },
  args: { ...fileArg },
  async run({ args }) {
    // Secrets and configs stay file references: their content is read when the stack is deployed.
    const { definition } = await readStackFile(args.file, err, fileOptions(args, { keepFileReferences: true }))
    json(definition)
  },
})

const list = defineCommand({
  meta: { name: 'list', description: 'List stacks' },
  args: { ...hubArg, ...jsonArg },
  async run({ args }) {
    const client = remoteClient(args)
    if (client) {
      const stacks = await listRemote(client)
      if (args.json) json(stacks)
      else out(await formatRemoteList(client, stacks))
      return
    }
    const stacks = await listLocal()
    if (args.json) json(stacks)
    else out(formatList(stacks))
  },
})

const info = defineCommand({
  meta: { name: 'info', description: 'Show a stack and its services' },
  args: { ...nameArg, ...hubArg, ...jsonArg },
  async run({ args }) {
    const client = remoteClient(args)
    if (client) {
      const stack = await infoRemote(client, args.name)
      if (args.json) json(stack)
      else out(await formatRemoteInfo(client, stack))
      return
    }
    const state = await infoLocal(args.name)
    if (args.json) json(state)
    else out(formatInfo(state))
  },
})

const update = defineCommand({
  meta: { name: 'update', description: 'Rolling update of one service to a new image' },
  args: {
    ...nameArg,
    service: { type: 'string', description: 'service to update', required: true },
    image: { type: 'string', description: 'new image', required: true },
    ...hubArg,
    ...detachArg,
    ...jsonArg,
  },
  async run({ args }) {
    const client = remoteClient(args)
    if (client) {
      const stack = await updateRemote(client, args.name, args.service, args.image, { detach: args.detach, quiet: args.json })
      if (args.json) json(stack)
      else out(`Service ${args.service} of ${args.name} ${args.detach ? 'is being updated to' : 'now runs'} ${args.image.replace(/^docker:/, '')}.`)
      return
    }
    const state = await updateLocal(args.name, args.service, args.image, args.json ? () => {} : progressPrinter(out))
    if (args.json) json(state)
    else out(`Service ${args.service} of ${args.name} now runs ${args.image.replace(/^docker:/, '')}.`)
  },
})

function stopCommand(name: string, description: string) {
  return defineCommand({
    meta: { name, description },
    args: { ...nameArg, ...hubArg, ...detachArg, ...jsonArg },
    async run({ args }) {
      const client = remoteClient(args)
      if (client) {
        const stack = await stopRemote(client, args.name, { detach: args.detach, quiet: args.json })
        if (args.json) json(stack)
        else out(`Stack ${args.name} is ${args.detach ? 'stopping' : 'stopped'}; its volumes are kept.`)
        return
      }
      const state = await stopLocal(args.name, args.json ? () => {} : progressPrinter(out))
      if (args.json) json(state)
      else out(`Stack ${args.name} is stopped; its volumes are kept.`)
    },
  })
}

const start = defineCommand({
  meta: { name: 'start', description: 'Start a stopped stack' },
  args: { ...nameArg, ...hubArg, ...detachArg, ...jsonArg },
  async run({ args }) {
    const client = remoteClient(args)
    if (client) {
      const stack = await startRemote(client, args.name, { detach: args.detach, quiet: args.json })
      if (args.json) json(stack)
      else out(`Stack ${args.name} is ${stack.status ?? 'starting'}.`)
      return
    }
    const state = await startLocal(args.name, args.json ? () => {} : progressPrinter(out))
    if (args.json) json(state)
    else out(`Stack ${args.name} is running.`)
  },
})

const destroy = defineCommand({
  meta: { name: 'destroy', description: 'Remove a stack with its containers, network and volumes' },
  args: { ...nameArg, yes: { type: 'boolean', alias: 'y', description: 'do not ask for confirmation' }, ...hubArg, ...detachArg },
  async run({ args }) {
    const client = remoteClient(args)
    if (!args.yes) {
      if (!process.stdin.isTTY) {
        throw new ThreshError({ code: 'confirmation_required', message: `Destroying ${args.name} deletes its volumes; pass --yes to confirm` })
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout })
      const answer = await rl.question(`Destroy stack ${args.name} and delete its volumes? [y/N] `)
      rl.close()
      if (!/^y(es)?$/i.test(answer.trim())) {
        out('Nothing was destroyed.')
        return
      }
    }
    if (client) {
      await destroyRemote(client, args.name, { detach: args.detach })
      out(`Stack ${args.name} is ${args.detach ? 'being destroyed' : 'destroyed'}.`)
      return
    }
    const removed = await destroyLocal(args.name)
    out(removed ? `Stack ${args.name} is destroyed.` : `No stack named ${args.name}; nothing to destroy.`)
  },
})

export default defineCommand({
  meta: { name: 'stack', description: 'Deploy and manage multi-service stacks' },
  subCommands: {
    validate,
    plan,
    convert,
    up,
    list,
    info,
    update,
    stop: stopCommand('stop', 'Stop a stack, keeping its volumes'),
    start,
    down: stopCommand('down', 'Stop a stack, keeping its volumes (same as stop)'),
    destroy,
    logs: stackLogs,
    exec: stackExec,
  },
})
