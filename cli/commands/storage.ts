// `thresh storage migrate --to postgres://…`: moves an embedded hub's whole state (THRESH_HOME's
// database) to PostgreSQL, for a fleet that outgrew one hub process. Runs on the hub's machine with the
// hub stopped (the database's lock says if it is not), and refuses a target that already holds a fleet
// unless told to replace it.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import process from 'node:process'
import { defineCommand } from 'citty'
import { copyDatabase } from '../../lib/storage/copy-database.ts'
import { migrate } from '../../lib/storage/migrations.ts'
import { lockDataDir } from '../../plugins/storage-embedded/data-dir-lock.ts'
import { createPgliteExecutor } from '../../plugins/storage-embedded/pglite-executor.ts'
import { createPostgresExecutor } from '../../plugins/storage-postgres/postgres-executor.ts'
import { jsonArg } from '../hub-client.ts'
import { print, printJson } from '../table.ts'

const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/
const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')

/** What a user calls each table in the summary; others are listed by table name. */
const LABELS: Record<string, string> = {
  accounts: 'accounts',
  users: 'users',
  api_keys: 'keys',
  nodes: 'nodes',
  stacks: 'stacks',
  commands: 'commands',
  events: 'events',
  alert_rules: 'alert rules',
  alert_channels: 'alert channels',
  metrics_raw: 'metric samples',
  container_metrics: 'container samples',
}

const migrateCommand = defineCommand({
  meta: { name: 'migrate', description: "Move a stopped embedded hub's whole state (THRESH_HOME) to PostgreSQL" },
  args: {
    to: { type: 'string', description: 'the PostgreSQL URL to move to (postgres://user@host:5432/db); or THRESH_DATABASE_URL', required: false },
    schema: { type: 'string', description: 'PostgreSQL schema for the tables (default: the database user\'s search_path)' },
    force: { type: 'boolean', description: 'replace a fleet the target already holds (it is deleted first)' },
    ...jsonArg,
  },
  async run({ args }) {
    const url = args.to ?? process.env.THRESH_DATABASE_URL
    if (!url) throw new Error('Give the PostgreSQL to move to: thresh storage migrate --to postgres://user@host:5432/thresh')
    if (!POSTGRES_URL.test(url)) throw new Error(`--to must be a PostgreSQL URL such as postgres://thresh@db.example:5432/thresh, got ${JSON.stringify(redact(url))}.`)
    const home = resolve(process.env.THRESH_HOME || join(homedir(), '.thresh'))
    const path = join(home, 'db')
    if (!existsSync(path)) throw new Error(`There is no embedded hub database at ${path} (THRESH_HOME=${home}); set THRESH_HOME to the hub's data dir.`)

    // The hub's own lock: a running hub makes this refuse, naming its process.
    const release = await lockDataDir(path, 'storage-embedded')
    let source: Awaited<ReturnType<typeof createPgliteExecutor>> | undefined
    let target: Awaited<ReturnType<typeof createPostgresExecutor>> | undefined
    try {
      source = await createPgliteExecutor(path)
      await migrate(source)
      try {
        target = await createPostgresExecutor({ url, ...(args.schema ? { schema: args.schema } : {}), max: 2 })
        await migrate(target)
      } catch (error) {
        throw new Error(`Could not open PostgreSQL at ${redact(url)}: ${(error as Error).message}`)
      }
      const report = await copyDatabase(source, target, { replace: Boolean(args.force) })
      if (args.json) return printJson({ to: redact(url), ...(args.schema ? { schema: args.schema } : {}), from: path, tables: report.tables })
      const rows = new Map(report.tables.map((t) => [t.table, t.rows]))
      const moved = Object.entries(LABELS).filter(([table]) => rows.has(table)).map(([table, label]) => `${label} ${rows.get(table)}`)
      print(`✓ Moved the hub's state from ${path} to ${redact(url)}${args.schema ? ` (schema ${args.schema})` : ''}: ${moved.join(', ')}.`)
      print(`  Start the hub on it with the same THRESH_HOME (its tls/ fleet CA and stack-secrets.key stay there): thresh run --role hub --database-url-file FILE (or THRESH_DATABASE_URL).`)
      print(`  The embedded database is left as it was; remove ${path} once the hub on PostgreSQL works.`)
    } finally {
      await target?.close().catch(() => {})
      await source?.close().catch(() => {})
      await release()
    }
  },
})

export default defineCommand({
  meta: { name: 'storage', description: "The hub's storage, on the hub's machine (no hub process needed)" },
  subCommands: { migrate: migrateCommand },
})
