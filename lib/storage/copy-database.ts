// Copies a whole fleet from one SQL store to another of the same schema version (`thresh storage
// migrate`: the embedded database to PostgreSQL). Every table, in foreign-key order, rows as they are
// (hashes, ids, identity keys, JSON), in one target transaction: a failure leaves the target untouched.
import { ThreshError } from '../../core/index.ts'
import type { SqlExecutor } from './sql-executor.ts'

export interface CopyOptions {
  /** Delete the fleet the target already holds instead of refusing. */
  replace?: boolean
  /** Rows read and written per statement (default 2000). */
  pageRows?: number
  /** Told after each table. */
  onTable?: (table: string, rows: number) => void
}

export interface CopyReport {
  tables: Array<{ table: string; rows: number }>
}

/** Bookkeeping each store keeps for itself: the target ran its own migrations. */
const SKIPPED = new Set(['thresh_migrations'])

interface TableInfo {
  name: string
  references: string[]
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`

async function tablesOf(db: SqlExecutor): Promise<TableInfo[]> {
  const rows = await db.query<{ name: string; refs: string | null }>(
    `select c.relname as name, string_agg(distinct r.relname, ',') as refs
     from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     left join pg_constraint k on k.conrelid = c.oid and k.contype = 'f'
     left join pg_class r on r.oid = k.confrelid and r.oid <> c.oid
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
     group by c.relname`,
  )
  return rows.filter((r) => !SKIPPED.has(r.name)).map((r) => ({ name: r.name, references: r.refs ? r.refs.split(',') : [] }))
}

/** Parents before children, so every row's references exist when it is inserted. */
function inDependencyOrder(tables: TableInfo[]): string[] {
  const byName = new Map(tables.map((t) => [t.name, t]))
  const ordered: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string) => {
    if (state.get(name) === 'done' || state.get(name) === 'visiting' || !byName.has(name)) return
    state.set(name, 'visiting')
    for (const parent of byName.get(name)!.references) visit(parent)
    state.set(name, 'done')
    ordered.push(name)
  }
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(t.name)
  return ordered
}

async function columnsOf(db: SqlExecutor, table: string): Promise<string[]> {
  const rows = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns
     where table_schema = current_schema() and table_name = $1 and is_generated = 'NEVER'
     order by ordinal_position`,
    [table],
  )
  return rows.map((r) => r.column_name)
}

/** Whether the store holds a fleet (any account). */
export async function holdsFleet(db: SqlExecutor): Promise<boolean> {
  const [row] = await db.query<{ n: number | string }>('select count(*) as n from accounts')
  return Number(row?.n ?? 0) > 0
}

export async function copyDatabase(source: SqlExecutor, target: SqlExecutor, options: CopyOptions = {}): Promise<CopyReport> {
  const pageRows = options.pageRows ?? 2000
  const sourceTables = await tablesOf(source)
  const targetTables = new Set((await tablesOf(target)).map((t) => t.name))
  const missing = sourceTables.filter((t) => !targetTables.has(t.name)).map((t) => t.name)
  if (missing.length) {
    throw new ThreshError({ code: 'schema_mismatch', status: 409, message: `The target has no table ${missing.join(', ')}: run the same thresh version on both sides.` })
  }
  const order = inDependencyOrder(sourceTables)
  return target.transaction(async (tx) => {
    if (!options.replace && (await holdsFleet(tx))) {
      throw new ThreshError({
        code: 'target_not_empty',
        status: 409,
        message: 'The target database already holds a fleet; nothing was copied. Pass --force to replace it (its accounts, nodes, stacks and history are deleted first).',
      })
    }
    // What is left is a replaced fleet or the rows its migrations seed (the source has its own of those).
    for (const table of [...order].reverse()) await tx.query(`delete from ${quote(table)}`)
    const report: CopyReport = { tables: [] }
    for (const table of order) {
      const columns = await columnsOf(source, table)
      const list = columns.map(quote).join(', ')
      let rows = 0
      let after = '(0,0)'
      for (;;) {
        // Paged by physical row position: no ordering column needed, and each page starts where the last ended.
        const page = await source.query<{ j: string; c: string }>(
          `select row_to_json(t)::text as j, t.ctid::text as c from ${quote(table)} t where t.ctid > $1::tid order by t.ctid limit ${pageRows}`,
          [after],
        )
        if (page.length === 0) break
        await tx.query(
          `insert into ${quote(table)} (${list}) overriding system value
           select ${list} from json_populate_recordset(null::${quote(table)}, $1::text::json)`,
          [`[${page.map((r) => r.j).join(',')}]`],
        )
        rows += page.length
        after = page.at(-1)!.c
        if (page.length < pageRows) break
      }
      // Identity and serial columns go on after the highest copied value.
      const counters = await tx.query<{ column_name: string }>(
        `select column_name from information_schema.columns
         where table_schema = current_schema() and table_name = $1 and (is_identity = 'YES' or column_default like 'nextval(%')`,
        [table],
      )
      for (const { column_name: column } of counters) {
        await tx.query(
          `select setval(pg_get_serial_sequence($1, $2), coalesce((select max(${quote(column)}) from ${quote(table)}), 0) + 1, false)`,
          [quote(table), column],
        )
      }
      report.tables.push({ table, rows })
      options.onTable?.(table, rows)
    }
    return report
  })
}
