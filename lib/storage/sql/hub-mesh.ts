// Hub processes sharing one PostgreSQL: heartbeats, node leases and cross-hub commands woken with
// NOTIFY (lib/storage/hub-mesh-types.ts). Each statement that stores a command or its result also
// sends the wake-up, so NOTIFY is delivered at commit and never ahead of the row it points at. The
// wake-ups travel on the store's notifications (one listening connection per hub, which listens
// again after a drop): the statements notify on the channel name those listen on.
import type { HubMesh } from '../hub-mesh-types.ts'
import type { StoreNotifications } from '../notifications.ts'
import { finishStatement, INSERT_COMMAND, insertParams, toCommand } from './commands.ts'
import type { SqlContext } from './context.ts'

/** The store-notifications channel a hub listens on. */
export const hubChannel = (hubId: string) => `hub:${hubId}`

export function createSqlHubMesh({ q }: SqlContext, notifications: StoreNotifications, inStatement: NonNullable<StoreNotifications['inStatement']>): HubMesh {
  /** The two `pg_notify` arguments that wake hub `to` with `message`. */
  const wake = (to: string, message: string) => {
    const { channel, payload } = inStatement(hubChannel(to), message)
    return [channel, payload]
  }
  return {
    async heartbeat(hubId, label, ttlMs) {
      const rows = await q<{ id: string; label: string }>(
        `with beat as (
           insert into hub_processes (id, label) values ($1, $2)
           on conflict (id) do update set heartbeat_at = now(), label = excluded.label
         )
         select id, label from hub_processes where heartbeat_at > now() - ($3::int * interval '1 millisecond') or id = $1`,
        [hubId, label, Math.round(ttlMs)],
      )
      return new Map(rows.map((r) => [r.id, r.label]))
    },
    async leave(hubId) {
      await q(`update nodes set held_by = null where held_by = $1`, [hubId])
      await q(`delete from hub_processes where id = $1`, [hubId])
    },
    async release(accountId, nodeId, hubId) {
      const rows = await q(`update nodes set status = 'offline', held_by = null where account_id = $1 and id = $2 and held_by = $3 returning 1`, [accountId, nodeId, hubId])
      return rows.length > 0
    },
    async heldBy(hubId) {
      return (await q<{ account_id: string; id: string }>(`select account_id, id from nodes where held_by = $1`, [hubId])).map((r) => ({ accountId: r.account_id, id: r.id }))
    },
    listen: (hubId, onMessage, onReady) => notifications.listen(hubChannel(hubId), onMessage, onReady ? { onReady } : {}),
    async unfinishedHeldBy(hubId) {
      // The open commands are few (commands_open is a partial index on them), so this stays cheap.
      return (await q(`select * from commands where status in ('pending', 'sent') and holder_hub = $1`, [hubId])).map(toCommand)
    },
    async endOrphanedStackCommands(accountId, stackId, ttlMs, error) {
      const rows = await q(
        `update commands c set status = 'error', error = $4, finished_at = now()
         where c.account_id = $1 and c.stack_id = $2 and c.asker_hub is not null and c.status in ('pending', 'sent')
           and not exists (select 1 from hub_processes h where h.id = c.asker_hub and h.heartbeat_at > now() - ($3::int * interval '1 millisecond'))
         returning 1`,
        [accountId, stackId, Math.round(ttlMs), error],
      )
      return rows.length > 0
    },
    async relay(record, message) {
      const params = insertParams(record)
      params.push(...wake(record.holderHub!, message))
      await q(`with stored as (${INSERT_COMMAND} returning 1) select pg_notify($17, $18) from stored`, params)
    },
    async retarget(accountId, id, holderHub, message) {
      const rows = await q(
        `with moved as (update commands set holder_hub = $3 where account_id = $1 and id = $2 and status in ('pending', 'sent') returning 1)
         select pg_notify($4, $5) from moved`,
        [accountId, id, holderHub, ...wake(holderHub, message)],
      )
      return rows.length > 0
    },
    async notify(to, message) {
      await q(`select pg_notify($1, $2)`, wake(to, message))
    },
    post: (to, message) => notifications.publish(hubChannel(to), message),
    async finishAndNotify(accountId, id, patch, to, message) {
      const { text, params } = finishStatement(accountId, id, patch)
      const n = params.length
      params.push(...wake(to, message))
      return (await q(`with finished as (${text}) select pg_notify($${n + 1}, $${n + 2}) from finished`, params)).length > 0
    },
  }
}
