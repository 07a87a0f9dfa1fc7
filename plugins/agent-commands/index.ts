// The agent-commands plugin: executes the hub's commands on this node through the `runtime` service
// and streams per-service status through `agent-connection`.
import { definePlugin } from '../../core/index.ts'
import { version } from '../../cli/version.ts'
import { createTools } from './tools.ts'

export { TOOLS, createTools } from './tools.ts'
export { listBlueprints, findBlueprint, shippedBlueprintDir } from './blueprints.ts'
export { stackFromArguments } from './stack-arguments.ts'

/** `thresh_live_<account>_<secret>` names its account; the node's stacks are labelled with it. */
export function accountOfKey(key: unknown): string | undefined {
  const match = typeof key === 'string' ? /^thresh_live_([a-z0-9][a-z0-9-]*)_/i.exec(key) : null
  return match ? match[1]!.toLowerCase() : undefined
}

export default definePlugin(() => ({
  name: 'agent-commands',
  requires: ['runtime', 'agent-connection'],
  setup(ctx) {
    const connection = ctx.use('agent-connection')
    const runtime = ctx.use('runtime')
    const account = accountOfKey((ctx.options as { account?: string }).account ?? ctx.config.apiKey)
    const execute = createTools({
      runtime: () => runtime,
      account: (ctx.options as { account?: string }).account ?? account,
      dataDir: ctx.dataDir,
      agentId: connection.agentId,
      statusUpdate: (update) => connection.sendStatusUpdate(update),
      async metrics() {
        if (!ctx.has('system-metrics')) return { agentId: connection.agentId }
        return { ...(await ctx.use('system-metrics').collect()), agentId: connection.agentId }
      },
      async versions() {
        const facts = ctx.has('system-metrics') ? await ctx.use('system-metrics').staticInfo().catch(() => undefined) : undefined
        return { thresh: version, agentId: connection.agentId, runtime: ctx.runtime, versions: facts?.versions ?? { thresh: version }, containerRuntime: facts?.containerRuntime }
      },
    })
    connection.setCommandHandler(async (command) => {
      const started = Date.now()
      ctx.logger.info(`Running ${command.tool} (${command.commandId}).`)
      try {
        const outcome = await execute(command)
        ctx.logger.info(`${command.tool} (${command.commandId}) ${outcome.success ? 'succeeded' : `failed: ${outcome.error}`} in ${Date.now() - started} ms.`)
        return outcome
      } catch (error) {
        ctx.logger.warn(`${command.tool} (${command.commandId}) failed: ${(error as Error).message}`)
        throw error
      }
    })
  },
}))
