// The agent-commands plugin: executes the hub's commands on this node through the `runtime` service
// and streams per-service status through `agent-connection`.
import { defineFields, definePlugin, version } from '../../core/index.ts'
import { lazyDocker } from '../../lib/docker/index.ts'
import { createStreamService } from './streams.ts'
import { createTools } from './tools.ts'

export { TOOLS, createTools } from './tools.ts'
export { listBlueprints, findBlueprint } from './blueprints.ts'
export { shippedBlueprintDir } from './shipped-blueprints.ts'
export { stackFromArguments } from './stack-arguments.ts'

export interface AgentCommandsOptions {
  /** The account the node's stacks are labelled with (default: the one the agent key names). */
  account?: string
}

/** `allow-exec` (may operators run commands and shells in containers here) and `allowed-bind-paths` (host directories stacks may bind-mount). */
export const agentCommandsFields = defineFields({
  allowExec: { type: 'boolean', description: 'let operators run commands and shells in containers on this node (exec)', default: true },
  allowedBindPaths: {
    type: 'list',
    description: 'host directories a stack may bind-mount (absolute paths; none by default)',
    default: [],
    pattern: /^\/[^\u0000-\u001f,]*$/,
    expected: 'absolute paths, comma-separated',
  },
})

export default definePlugin((options: AgentCommandsOptions = {}) => ({
  name: 'agent-commands',
  requires: ['runtime', 'agent-connection'],
  config: agentCommandsFields,
  setup(ctx) {
    const connection = ctx.use('agent-connection')
    const runtime = ctx.use('runtime')
    const execute = createTools({
      runtime: () => runtime,
      account: options.account ?? connection.account,
      dataDir: ctx.dataDir,
      allowedBindPaths: ctx.settings.allowedBindPaths,
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
    let streamsOpen = 0
    ctx.metrics.gauge('agent_streams_open', 'Log and exec streams this agent is serving.', () => streamsOpen)
    const docker = lazyDocker(undefined)
    connection.setStreamHandler(
      createStreamService({
        docker: () => docker,
        account: options.account ?? connection.account,
        allowExec: () => ctx.settings.allowExec,
        onActive: (delta) => (streamsOpen += delta),
      }),
    )
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
