// `thresh agent`: the node agent. `config set|get|list|unset` edit $THRESH_HOME/agent.json;
// start/stop/status join `subCommands` below as their own lazily loaded commands.
import { defineCommand } from 'citty'
import { ThreshError } from '../../core/index.ts'
import { agentConfigPath, displayValue, getAgentConfig, listAgentConfig, setAgentConfig, unsetAgentConfig } from '../agent-config.ts'
import { jsonArg } from '../hub-client.ts'
import { print, printJson, table } from '../table.ts'

const keyArg = { key: { type: 'positional', description: 'a setting, as listed by thresh agent config list', required: true } } as const

const set = defineCommand({
  meta: { name: 'set', description: 'Set an agent setting (validated)' },
  args: { ...keyArg, value: { type: 'positional', description: 'the new value', required: true } },
  async run({ args }) {
    const value = await setAgentConfig(args.key, args.value)
    print(`✓ ${args.key} = ${await displayValue(args.key, value)}`)
  },
})

const get = defineCommand({
  meta: { name: 'get', description: 'Print one agent setting (API keys masked)' },
  args: { ...keyArg, ...jsonArg },
  async run({ args }) {
    const entry = await getAgentConfig(args.key)
    if (args.json) return printJson(entry)
    if (entry.value === undefined) throw new ThreshError({ code: 'agent_config_unset', message: `${args.key} is not set; set it with thresh agent config set ${args.key} VALUE.` })
    print(String(entry.value))
  },
})

const list = defineCommand({
  meta: { name: 'list', description: 'Show every agent setting, its value or default (API keys masked)' },
  args: { ...jsonArg },
  async run({ args }) {
    const entries = await listAgentConfig()
    if (args.json) return printJson(Object.fromEntries(entries.map((e) => [e.key, e.value ?? null])))
    print(
      table([
        ['KEY', 'VALUE', ''],
        ...entries.map((e) => [e.key, e.value === undefined ? '-' : String(e.value), e.source === 'default' ? '(default)' : '']),
      ]).replace(/ +$/gm, ''),
    )
    print(`\n${agentConfigPath()}`)
  },
})

const unset = defineCommand({
  meta: { name: 'unset', description: 'Remove an agent setting (back to its default)' },
  args: { ...keyArg },
  async run({ args }) {
    const removed = await unsetAgentConfig(args.key)
    print(removed ? `✓ ${args.key} unset.` : `${args.key} was not set.`)
  },
})

export const config = defineCommand({
  meta: { name: 'config', description: 'Read and change the agent settings in $THRESH_HOME/agent.json' },
  subCommands: { set, get, list, unset },
})

// Outside `export default defineCommand(...)`: tsc leaves `.ts` in dynamic imports inside it.
const daemon = () => import('./agent-daemon.ts')

export default defineCommand({
  meta: { name: 'agent', description: 'The node agent: its settings, and running it in the background' },
  subCommands: {
    config,
    start: () => daemon().then((m) => m.start),
    stop: () => daemon().then((m) => m.stop),
    status: () => daemon().then((m) => m.status),
    failover: () => daemon().then((m) => m.failover),
    failback: () => daemon().then((m) => m.failback),
  },
})
