// stacks: deploy, inspect, update, stop, start and destroy, each answering at once (202) or, with
// ?wait=true, when the node has finished.
import { ThreshError } from '../../../core/index.ts'
import { convertCompose } from '../../../lib/stack/compose/index.ts'
import type { StackOutcome } from '../../hub-fleet/index.ts'
import { arr, bool, obj, str, type Schema } from '../schema.ts'
import { flag, NAME, NAME_HINT, ok } from './params.ts'
import type { Reply, RouteDef } from './route-def.ts'

/** A stack operation's result: 202 while it runs, 200 when it succeeded, 409/504 when it did not. */
function stackReply(outcome: StackOutcome): Reply {
  const body = { ...(outcome.stack ?? {}), command: outcome.command }
  if (outcome.status === 202) return ok(body, 202)
  if (outcome.command.status === 'timeout') {
    return ok({ error: 'command_timeout', message: outcome.command.error ?? 'The node did not answer in time.', stack: outcome.stack, command: outcome.command }, 504)
  }
  if (outcome.command.status === 'error') {
    return ok({ error: 'command_failed', message: outcome.command.error ?? 'The node could not carry out the command.', stack: outcome.stack, command: outcome.command }, 409)
  }
  return ok(body)
}

const serviceSchema = obj({ name: str(), image: str(), ports: arr(str()), volumes: arr(str()), env: { type: 'object' }, dependsOn: arr(str()), status: str(), errorMessage: str({ nullable: true }) })
const stackSchema = obj({
  id: str(),
  name: str(),
  status: str({ enum: ['deploying', 'running', 'partial', 'stopped', 'updating', 'error'] }),
  targetNodeId: str({ nullable: true }),
  node: str({ nullable: true }),
  errorMessage: str({ nullable: true }),
  createdAt: str({ format: 'date-time' }),
  updatedAt: str({ format: 'date-time' }),
  deployedAt: str({ format: 'date-time', nullable: true }),
  secrets: arr(str(), { description: 'names of the stack\'s secrets (their content is never returned)' }),
  configs: arr(str(), { description: 'names of the stack\'s configs' }),
  services: arr(serviceSchema),
  command: obj({ id: str(), status: str(), error: str({ nullable: true }) }),
})
const waitQuery = { wait: bool({ description: 'true: answer when the node has finished (200, or 409/504 on failure); default: answer at once with 202' }) }
const stackBody: Schema = {
  type: 'object',
  description:
    'A stack definition in either form (services as a map, or a list with names), with optional targetNode or targetCluster. It is validated completely before anything is dispatched.',
  required: ['name', 'services'],
  properties: {
    name: str({ pattern: NAME, description: NAME_HINT }),
    services: { description: 'a map of name to service, or a list of services with a name', oneOf: [{ type: 'object' }, { type: 'array' }] },
    traefik: bool(),
    targetNode: str({ minLength: 1, maxLength: 253 }),
    targetCluster: str({ minLength: 1, maxLength: 253 }),
    networks: arr(str(), { description: 'extra networks services may join besides the stack\'s own (default)' }),
    secrets: { type: 'object', description: 'name -> {content}: stored encrypted, mounted read-only at /run/secrets/NAME, never returned' },
    configs: { type: 'object', description: 'name -> {content}: mounted read-only at the target a service names' },
  },
}

const composeBody: Schema = obj(
  {
    compose: str({ minLength: 1, maxLength: 512 * 1024, 'x-multiline': true, description: 'the compose.yaml / docker-compose.yml text' }),
    ignoreUnsupported: bool({ description: 'leave out keys thresh does not support (warnings instead of errors)' }),
    name: str({ pattern: NAME, description: 'stack name when the file has no top-level name' }),
  },
  ['compose'],
)
const problemSchema = obj({ path: str(), message: str(), line: { type: 'integer' }, column: { type: 'integer' } })

/** `POST /api/stacks/{name}/stop|start`: one route shape for both actions. */
const lifecycleRoute = (action: 'stop' | 'start', summary: string): RouteDef => ({
  method: 'post',
  path: `/api/stacks/{name}/${action}`,
  summary,
  tag: 'stacks',
  scope: 'cli',
  role: 'operator',
  bodyOptional: true,
  query: waitQuery,
  status: 202,
  async handle({ principal, params, query, services }) {
    return stackReply(await services.fleet.stacks[action](principal!, params.name!, flag(query.wait)))
  },
})

export const stackRoutes: RouteDef[] = [
  {
    method: 'post',
    path: '/api/stacks/convert',
    summary: 'Convert a compose file into a stack definition',
    description:
      'Converts compose text (variables from the file\'s defaults only; env_file, secret and config files and relative bind mounts cannot be read here: use the CLI for those) into the definition POST /api/stacks/deploy takes. Problems answer 400 with each path, line and column.',
    tag: 'stacks',
    scope: 'cli',
    role: 'viewer',
    body: composeBody,
    maxBodyBytes: 1024 * 1024,
    status: 200,
    response: obj({ definition: { type: 'object' }, warnings: arr(problemSchema) }),
    async handle({ body }) {
      const input = body as { compose: string; ignoreUnsupported?: boolean; name?: string }
      const result = convertCompose(input.compose, { ...(input.name ? { name: input.name } : {}), ...(input.ignoreUnsupported ? { ignoreUnsupported: true } : {}) })
      if (result.ok) return ok({ definition: result.definition, warnings: result.warnings })
      const lines = result.errors.map((e) => `${e.path ? `${e.path}${e.line ? ` (line ${e.line})` : ''}: ` : ''}${e.message}`)
      throw new ThreshError({
        code: 'stack_invalid',
        status: 400,
        plugin: 'hub-api',
        message: `The compose file is not a valid stack (${lines.length} problem${lines.length === 1 ? '' : 's'}): ${lines.slice(0, 10).join('; ')}`,
        details: result.errors,
      })
    },
  },
  {
    method: 'post',
    path: '/api/stacks/deploy',
    summary: 'Deploy (or redeploy) a stack',
    description:
      'Validates and resolves the definition, picks the node (targetNode, else the least loaded online node of targetCluster, else of the account) and sends it deploy_stack. Follow progress with GET /api/stacks/{name}.',
    tag: 'stacks',
    scope: 'cli',
    role: 'operator',
    body: stackBody,
    bodyCheckedByHandler: true,
    query: {
      ...waitQuery,
      rollback: bool({
        description:
          'true: if any service fails, undo the whole deploy (a redeploy puts every changed service back as it was; a first deploy leaves nothing). false: keep what started. Default: true for a redeploy, false for a first deploy',
      }),
    },
    maxBodyBytes: 1024 * 1024,
    status: 202,
    response: stackSchema,
    async handle({ principal, body, query, services }) {
      const rollback = query.rollback === undefined ? {} : { rollback: flag(query.rollback) }
      return stackReply(await services.fleet.stacks.deploy(principal!, body, flag(query.wait), rollback))
    },
  },
  {
    method: 'get',
    path: '/api/stacks',
    summary: 'List stacks',
    tag: 'stacks',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: obj({ stacks: arr(stackSchema) }),
    async handle({ principal, services }) {
      return ok({ stacks: await services.fleet.stacks.list(principal!.accountId) })
    },
  },
  {
    method: 'get',
    path: '/api/stacks/{name}',
    summary: 'A stack with the status of each service',
    tag: 'stacks',
    scope: 'cli',
    role: 'viewer',
    status: 200,
    response: stackSchema,
    async handle({ principal, params, services }) {
      return ok(await services.fleet.stacks.get(principal!.accountId, params.name!))
    },
  },
  {
    method: 'patch',
    path: '/api/stacks/{name}/services/{svc}',
    summary: "Rolling update of one service's image",
    tag: 'stacks',
    scope: 'cli',
    role: 'operator',
    body: obj({ image: str({ minLength: 1, maxLength: 500 }) }, ['image']),
    query: waitQuery,
    status: 202,
    async handle({ principal, params, body, query, services }) {
      return stackReply(await services.fleet.stacks.updateService(principal!, params.name!, params.svc!, (body as { image: string }).image, flag(query.wait)))
    },
  },
  lifecycleRoute('stop', 'Stop a stack (volumes are kept)'),
  lifecycleRoute('start', 'Start a stopped stack'),
  {
    method: 'delete',
    path: '/api/stacks/{name}',
    summary: 'Destroy a stack: containers, network and volumes',
    tag: 'stacks',
    scope: 'cli',
    role: 'operator',
    query: { ...waitQuery, force: bool({ description: "forget the stack even if its node is offline (its containers stay on that node)" }) },
    status: 202,
    async handle({ principal, params, query, services }) {
      const outcome = await services.fleet.stacks.destroy(principal!, params.name!, flag(query.wait), flag(query.force))
      if (outcome.status === 200 && (outcome.command.status === 'success' || outcome.command.status === 'skipped')) {
        return ok({ destroyed: true, name: params.name, command: outcome.command })
      }
      return stackReply(outcome)
    },
  },
]
