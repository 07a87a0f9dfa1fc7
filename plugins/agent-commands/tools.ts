// The agent's ExecuteCommand tools (CONTRACT §4), run through the node's stack runtime; stack tools
// stream per-service StackServiceStatusUpdate and answer with the stack's state as JSON.
import { ThreshError } from '../../core/index.ts'
import type { AgentCommand, CommandOutcome, StackServiceStatusUpdate } from '../../lib/agent-session/agent/index.ts'
import type { ProgressEvent, StackDefinition, StackRuntime, StackState } from '../../lib/stack/index.ts'
import { createDockerApi, type DockerApi } from '../../lib/docker/engine-api.ts'
import { bindMountsOutside } from '../../lib/stack/service-extras.ts'
import { findBlueprint, listBlueprints } from './blueprints.ts'
import { createNodeTools, NODE_TOOLS } from './node-tools.ts'
import { isObject, stackFromArguments, stackNameOf, type Args } from './stack-arguments.ts'

export interface ToolContext {
  runtime(): StackRuntime
  /** Account the node's stacks belong to (from the agent key); undefined = the runtime's default. */
  account: string | undefined
  dataDir: string
  /** Host directories stacks may bind-mount; none when empty. */
  allowedBindPaths?: readonly string[]
  agentId: string
  versions(): Promise<Record<string, unknown>>
  metrics(): Promise<unknown>
  statusUpdate(update: StackServiceStatusUpdate): void
  /** The node's Docker Engine API for the container, image and volume tools (default: DOCKER_HOST or the local socket). */
  engine?: () => DockerApi
}

export const TOOLS = [
  'deploy_stack',
  'update_service',
  'stop_stack',
  'start_stack',
  'destroy_stack',
  'create_environment',
  'list_blueprints',
  'list_environments',
  'get_metrics',
  'get_version',
  ...NODE_TOOLS,
] as const

// The original hub knows pending|deploying|running|stopped|error; the finer runtime steps map to deploying.
const WIRE_STATUS: Record<string, string> = { pulling: 'deploying', creating: 'deploying', starting: 'deploying' }

const json = (value: unknown) => JSON.stringify(value)

function summary(state: StackState): string {
  const running = state.services.filter((s) => s.status === 'running').length
  return `Stack '${state.name}': ${running}/${state.services.length} services running.`
}

export function createTools(ctx: ToolContext): (command: AgentCommand) => Promise<CommandOutcome> {
  // Stacks an operation is still working on, so a hub that lost track (it restarted mid-deploy) and
  // asks with list_environments waits for the outcome instead of settling on a half-made stack.
  const working = new Map<string, number>()
  const key = (account: string | undefined, name: string) => `${account ?? ''}/${name}`
  async function busyWith<T>(account: string | undefined, name: string, fn: () => Promise<T>): Promise<T> {
    const k = key(account, name)
    working.set(k, (working.get(k) ?? 0) + 1)
    try {
      return await fn()
    } finally {
      const left = (working.get(k) ?? 1) - 1
      if (left > 0) working.set(k, left)
      else working.delete(k)
    }
  }

  const opts = (account: string | undefined, extra: { onProgress?: (event: ProgressEvent) => void; rollback?: boolean } = {}) => ({ ...(account ? { account } : {}), ...extra })

  const update = (stackId: string, serviceName: string, status: string, errorMessage?: string) =>
    ctx.statusUpdate({ stackId, serviceName, status: WIRE_STATUS[status] ?? status, errorMessage: errorMessage ?? null, ...(WIRE_STATUS[status] ? { detail: status } : {}) } as StackServiceStatusUpdate)

  const reportFinal = (stackId: string, state: StackState | undefined) => {
    for (const service of state?.services ?? []) update(stackId, service.name, service.status, service.error)
  }

  // A rolled-back deploy failed (the command says why) though the stack runs as it did before.
  const stackOutcome = (stackId: string, state: StackState): CommandOutcome => ({
    success: state.status !== 'error' && !state.rolledBack,
    output: json({ stackId, message: summary(state), stack: state }),
    ...(state.rolledBack ? { error: `rolled back: ${state.rolledBack}` } : state.status === 'error' ? { error: state.error ?? `Stack '${state.name}' failed to start.` } : {}),
  })

  const deploy = (stack: StackDefinition, stackId: string, account: string | undefined, rollback?: boolean): Promise<CommandOutcome> => busyWith(account, stack.name, async () => {
    for (const service of stack.services) update(stackId, service.name, 'pending')
    const state = await ctx.runtime().deploy(
      stack,
      opts(account, {
        ...(rollback !== undefined ? { rollback } : {}),
        onProgress: (event) => {
          if (event.type === 'service') update(stackId, event.service, event.status, event.status === 'error' || event.status === 'blocked' ? event.message : undefined)
        },
      }),
    )
    reportFinal(stackId, state)
    return stackOutcome(stackId, state)
  })

  const missing = (name: string) => new ThreshError({ code: 'stack_not_found', plugin: 'agent-commands', message: `Stack '${name}' does not exist on this node.` })

  let engine: DockerApi | undefined
  const nodeTools = createNodeTools(ctx.engine ?? (() => (engine ??= createDockerApi())))

  const tools: Record<(typeof TOOLS)[number], (args: Args, account: string | undefined) => Promise<CommandOutcome>> = {
    ...nodeTools,
    async deploy_stack(args, account) {
      const { stack, stackId } = stackFromArguments(args)
      const refused = bindMountsOutside(stack, ctx.allowedBindPaths ?? [])
      if (refused.length > 0) {
        const allowed = ctx.allowedBindPaths?.length ? `it allows ${ctx.allowedBindPaths.join(', ')}` : 'it allows none'
        throw new ThreshError({
          code: 'bind_not_allowed',
          plugin: 'agent-commands',
          status: 403,
          message: `This node does not allow the bind mount${refused.length > 1 ? 's' : ''} ${refused.join(', ')} (${allowed}; on the node: thresh agent config set allowed-bind-paths /path).`,
        })
      }
      return deploy(stack, stackId, account, typeof args.rollback === 'boolean' ? args.rollback : undefined)
    },
    update_service: (args, account) => busyWith(account, stackNameOf(args), async () => {
      const name = stackNameOf(args)
      const service = typeof args.service === 'string' ? args.service : typeof args.serviceName === 'string' ? args.serviceName : undefined
      const image = typeof args.image === 'string' ? args.image.replace(/^docker:/, '') : undefined
      if (!service || !image) throw new ThreshError({ code: 'bad_arguments', plugin: 'agent-commands', message: 'update_service needs service and image.' })
      const stackId = typeof args.stackId === 'string' ? args.stackId : name
      const state = await ctx.runtime().updateService(
        name,
        service,
        image,
        opts(account, { onProgress: (event) => event.type === 'service' && update(stackId, event.service, event.status, event.status === 'error' ? event.message : undefined) }),
      )
      reportFinal(stackId, state)
      return stackOutcome(stackId, state)
    }),
    stop_stack: (args, account) => busyWith(account, stackNameOf(args), async () => {
      const name = stackNameOf(args)
      const state = await ctx.runtime().stop(name, opts(account))
      if (!state) throw missing(name)
      const stackId = typeof args.stackId === 'string' ? args.stackId : name
      reportFinal(stackId, state)
      return { success: true, output: json({ stackId, message: `Stack '${name}' stopped; volumes kept.`, stack: state }) }
    }),
    start_stack: (args, account) => busyWith(account, stackNameOf(args), async () => {
      const name = stackNameOf(args)
      const state = await ctx.runtime().start(name, opts(account))
      if (!state) throw missing(name)
      const stackId = typeof args.stackId === 'string' ? args.stackId : name
      reportFinal(stackId, state)
      return stackOutcome(stackId, state)
    }),
    destroy_stack: (args, account) => busyWith(account, stackNameOf(args), async () => {
      const name = stackNameOf(args)
      const existed = await ctx.runtime().destroy(name, opts(account))
      return { success: true, output: json({ stackId: typeof args.stackId === 'string' ? args.stackId : name, destroyed: existed, message: existed ? `Stack '${name}' destroyed with its volumes.` : `Stack '${name}' was not on this node.` }) }
    }),
    async create_environment(args, account) {
      const blueprintName = typeof args.blueprint === 'string' ? args.blueprint : undefined
      if (!blueprintName) throw new ThreshError({ code: 'bad_arguments', plugin: 'agent-commands', message: 'create_environment needs a blueprint name.' })
      const blueprint = await findBlueprint(ctx.dataDir, blueprintName)
      const name = typeof args.name === 'string' && args.name ? args.name : blueprint.name
      const { stack, stackId } = stackFromArguments({ stack: { ...blueprint.definition, name }, ...(typeof args.stackId === 'string' ? { stackId: args.stackId } : {}) })
      return deploy(stack, stackId, account)
    },
    async list_blueprints() {
      const blueprints = await listBlueprints(ctx.dataDir)
      return { success: true, output: json(blueprints.map(({ definition: _d, ...rest }) => rest)) }
    },
    async list_environments(_args, account) {
      const stacks = await ctx.runtime().list(opts(account))
      const prefix = key(account, '')
      const busy = new Set([...working.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)))
      const listed = stacks.map((s) => ({
        name: s.name,
        status: s.status,
        ...(busy.has(s.name) ? { busy: true } : {}),
        ...(s.error ? { error: s.error } : {}),
        services: s.services.map((svc) => ({ name: svc.name, image: svc.image, status: svc.status, ports: svc.ports, ...(svc.error ? { error: svc.error } : {}) })),
      }))
      // A stack still being created may have no container yet; it is listed all the same.
      for (const name of busy) if (!stacks.some((s) => s.name === name)) listed.push({ name, status: 'deploying', busy: true, services: [] })
      return { success: true, output: json(listed) }
    },
    async get_metrics() {
      return { success: true, output: json(await ctx.metrics()) }
    },
    async get_version() {
      return { success: true, output: json(await ctx.versions()) }
    },
  }

  return async (command) => {
    const tool = tools[command.tool as (typeof TOOLS)[number]]
    if (!tool) return { success: false, error: `Unknown tool '${command.tool}'; this agent knows: ${TOOLS.join(', ')}.` }
    const args = isObject(command.arguments) ? command.arguments : typeof command.arguments === 'string' ? parseArgs(command.arguments) : {}
    // The hub names the owning account in every stack command; else the agent key's account applies.
    return tool(args, typeof args.account === 'string' && args.account ? args.account : ctx.account)
  }
}

// The original agent sent arguments as a JSON string.
function parseArgs(text: string): Args {
  try {
    const value = JSON.parse(text) as unknown
    return isObject(value) ? value : {}
  } catch {
    return {}
  }
}
