// Stacks and their services in SQL: a stack is written whole (services replaced) in one transaction,
// and read back with its services in two queries however many stacks there are.
import { conflict } from '../errors.ts'
import { arrayLiteral, type SqlExecutor, type SqlParam } from '../sql-executor.ts'
import type { StacksStore } from '../store-parts.ts'
import type { StackRecord, StackServiceRecord } from '../types.ts'
import type { SqlContext } from './context.ts'
import { clean, iso, json, opt, type Row } from './rows.ts'

const toService = (r: Row): StackServiceRecord =>
  clean({
    name: r.name,
    image: r.image,
    ports: r.ports,
    volumes: r.volumes,
    env: r.env,
    dependsOn: r.depends_on,
    status: r.status,
    errorMessage: opt(r.error_message),
  })

export function createSqlStacks({ db, run, q, patchRow, clock, plugin }: SqlContext): StacksStore {
  async function loadStacks(exec: SqlExecutor, where: string, params: SqlParam[]): Promise<StackRecord[]> {
    const stacks = await run(exec, `select * from stacks where ${where} order by created_at, name`, params)
    if (stacks.length === 0) return []
    const services = await run(exec, `select * from stack_services where stack_id = any($1::text::text[]) order by stack_id, position`, [
      arrayLiteral(stacks.map((s) => s.id)),
    ])
    return stacks.map((r) =>
      clean({
        id: r.id,
        accountId: r.account_id,
        name: r.name,
        status: r.status,
        nodeId: opt(r.node_id),
        errorMessage: opt(r.error_message),
        definition: r.definition,
        services: services.filter((s) => s.stack_id === r.id).map(toService),
        createdAt: iso(r.created_at)!,
        updatedAt: iso(r.updated_at)!,
        deployedAt: iso(r.deployed_at),
        rollbackTo: opt(r.rollback_to),
      }),
    )
  }

  return {
    async upsertStack(record) {
      await db.transaction(async (tx) => {
        const written = await run(
          tx,
          `insert into stacks (id, account_id, name, status, node_id, error_message, definition, created_at, updated_at, deployed_at, rollback_to)
           values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11::text::jsonb)
           on conflict (id) do update set name = excluded.name, status = excluded.status, node_id = excluded.node_id,
             error_message = excluded.error_message, definition = excluded.definition,
             updated_at = excluded.updated_at, deployed_at = excluded.deployed_at, rollback_to = excluded.rollback_to
           where stacks.account_id = excluded.account_id
           returning id`,
          [
            record.id,
            record.accountId,
            record.name,
            record.status,
            record.nodeId ?? null,
            record.errorMessage ?? null,
            json(record.definition ?? null),
            record.createdAt,
            record.updatedAt,
            record.deployedAt ?? null,
            record.rollbackTo ? json(record.rollbackTo) : null,
          ],
        )
        if (written.length === 0) throw conflict('A record with that id already exists.', plugin)
        await run(tx, 'delete from stack_services where stack_id = $1', [record.id])
        if (record.services.length > 0) {
          const s = record.services
          await run(
            tx,
            `insert into stack_services (stack_id, name, position, image, ports, volumes, env, depends_on, status, error_message)
             select $1, name, position, image, ports, volumes, env, depends_on, status, error_message
             from unnest($2::text::text[], $3::text::int[], $4::text::text[], $5::text::jsonb[], $6::text::jsonb[],
                         $7::text::jsonb[], $8::text::jsonb[], $9::text::text[], $10::text::text[])
               as t(name, position, image, ports, volumes, env, depends_on, status, error_message)`,
            [
              record.id,
              arrayLiteral(s.map((x) => x.name)),
              arrayLiteral(s.map((_, i) => i)),
              arrayLiteral(s.map((x) => x.image)),
              arrayLiteral(s.map((x) => JSON.stringify(x.ports ?? []))),
              arrayLiteral(s.map((x) => JSON.stringify(x.volumes ?? []))),
              arrayLiteral(s.map((x) => JSON.stringify(x.env ?? {}))),
              arrayLiteral(s.map((x) => JSON.stringify(x.dependsOn ?? []))),
              arrayLiteral(s.map((x) => x.status)),
              arrayLiteral(s.map((x) => x.errorMessage ?? null)),
            ],
          )
        }
      })
      return structuredClone(record)
    },
    async getStack(accountId, id) {
      return (await loadStacks(db, 'account_id = $1 and id = $2', [accountId, id]))[0]
    },
    async getStackByName(accountId, name) {
      return (await loadStacks(db, 'account_id = $1 and name = $2', [accountId, name]))[0]
    },
    async listStacks(accountId) {
      return loadStacks(db, 'account_id = $1', [accountId])
    },
    async updateStack(accountId, id, patch) {
      return patchRow('stacks', accountId, id, patch, {
        status: 'text',
        nodeId: 'text',
        errorMessage: 'text',
        updatedAt: 'timestamptz',
        deployedAt: 'timestamptz',
        definition: 'jsonb',
      })
    },
    async setServiceStatus(accountId, stackId, service, patch) {
      const rows = await q(
        `update stack_services s set status = $4,
           error_message = case when $5::boolean then $6 else s.error_message end,
           image = coalesce($7, s.image)
         from stacks t where t.id = s.stack_id and t.account_id = $1 and s.stack_id = $2 and s.name = $3 returning 1`,
        [accountId, stackId, service, patch.status, patch.errorMessage !== undefined, patch.errorMessage ?? null, patch.image ?? null],
      )
      if (rows.length > 0) await q('update stacks set updated_at = $3 where account_id = $1 and id = $2', [accountId, stackId, clock().toISOString()])
      return rows.length > 0
    },
    async deleteStack(accountId, id) {
      return (await q('delete from stacks where account_id = $1 and id = $2 returning 1', [accountId, id])).length > 0
    },
  }
}
