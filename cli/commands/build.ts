// `thresh build --role agent [--plugin FILE]... [--out FILE] [--sea [FILE]]`: a single-file agent with
// third-party plugins baked in (as xcaddy builds Caddy), and optionally a single executable.
import { defineCommand } from 'citty'
import { ThreshError } from '../../core/index.ts'
import { print } from '../table.ts'

/** Every value of a repeatable flag (citty keeps only the last). */
function repeated(rawArgs: string[], name: string): string[] {
  const values: string[] = []
  rawArgs.forEach((arg, i) => {
    if (arg === `--${name}` && rawArgs[i + 1] !== undefined) values.push(rawArgs[i + 1]!)
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3))
  })
  return values
}

// Outside `export default defineCommand(...)`: tsc leaves `.ts` in dynamic imports inside it.
const builder = () => import('../../lib/build/agent-bundle.ts')

export default defineCommand({
  meta: { name: 'build', description: 'Build the agent as one file (node or deno runs it, no node_modules), with extra plugins baked in' },
  args: {
    role: { type: 'string', description: 'the role to build (agent)', default: 'agent' },
    plugin: { type: 'string', description: 'a plugin file to bake in (repeatable), after the role’s own plugins' },
    out: { type: 'string', description: 'the ES module to write', default: 'dist/thresh-agent.mjs' },
    sea: { type: 'boolean', description: 'also make a Node single executable beside it (thresh-agent-<platform>-<arch>)', default: false },
    'sea-out': { type: 'string', description: 'where to write the single executable' },
  },
  async run({ args, rawArgs }) {
    if (args.role !== 'agent') {
      throw new ThreshError({ code: 'role_unknown', message: `thresh build makes the agent only (--role agent), not '${args.role}': run other roles with thresh run.` })
    }
    const { buildAgent, defaultSeaPath } = await builder()
    const wantSea = args.sea || Boolean(args['sea-out'])
    const result = await buildAgent({
      out: args.out,
      plugins: repeated(rawArgs, 'plugin'),
      sea: wantSea ? (args['sea-out'] ?? defaultSeaPath(args.out)) : undefined,
    })
    print(`✓ ${result.bundle} (${(result.bytes / 1024 / 1024).toFixed(2)} MB): node ${result.bundle} --midtier-url URL --api-key KEY, or deno run -A ${result.bundle} …`)
    if (result.sea) print(`✓ ${result.sea}: a single executable, needs no Node installed`)
  },
})
