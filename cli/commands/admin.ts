// `thresh admin reset-password`: the documented recovery for a lost (or never seen) admin password.
// Runs on the hub's machine against its storage (THRESH_HOME's embedded database, or --database-url /
// THRESH_DATABASE_URL / --config), with no server: it loads only the storage and hub-auth plugins.
import process from 'node:process'
import { defineCommand } from 'citty'
import { startRole } from '../../roles/start-role.ts'
import { jsonArg } from '../hub-client.ts'
import { print, printJson } from '../table.ts'

const resetPassword = defineCommand({
  meta: { name: 'reset-password', description: "Give a hub user a new one-time password (changed at next login); run on the hub's machine" },
  args: {
    user: { type: 'string', description: 'the user (default admin, or THRESH_ADMIN_USER)' },
    'database-url': { type: 'string', description: 'the hub\'s PostgreSQL (default: THRESH_DATABASE_URL, else the embedded database in THRESH_HOME)' },
    config: { type: 'string', description: "the hub's config file, for its storage settings" },
    ...jsonArg,
  },
  async run({ args }) {
    const flags: Record<string, unknown> = { logLevel: 'warn' }
    if (args['database-url']) flags.databaseUrl = args['database-url']
    const hub = await startRole({ role: 'hub', configPath: args.config, flags, only: ['storage', 'hub-auth'] })
    try {
      const userName = args.user ?? process.env.THRESH_ADMIN_USER ?? 'admin'
      const reset = await hub.thresh.use('auth').resetPassword(userName)
      if (args.json) return printJson(reset)
      print(`✓ New one-time password for '${reset.userName}': ${reset.password}`)
      print(`  It must be changed at the next login (thresh auth login, then thresh auth passwd).${reset.sessionsEnded ? ` ${reset.sessionsEnded} session(s) of that user were ended.` : ''}`)
    } finally {
      await hub.stop('admin command done')
    }
  },
})

export default defineCommand({
  meta: { name: 'admin', description: "Maintenance on the hub's machine (no hub process needed)" },
  subCommands: { 'reset-password': resetPassword },
})
