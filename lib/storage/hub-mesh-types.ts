// What hub processes sharing one database (PostgreSQL) coordinate through it: who is alive
// (heartbeats), which hub holds each node (leases), and commands that cross from the hub asked to
// the hub holding the node, woken by LISTEN/NOTIFY. Single-hub stores (memory, embedded) have none.
import type { CommandPatch, CommandRecord } from './types.ts'

export interface HubMesh {
  /** Records `hubId` alive now; resolves with every hub whose heartbeat is younger than `ttlMs` (its own included). */
  heartbeat(hubId: string, label: string, ttlMs: number): Promise<Map<string, string>>
  /** A clean stop: the hub's row goes, and the nodes it still holds are released. */
  leave(hubId: string): Promise<void>
  /** The agent left `hubId`: the node goes offline and its lease is dropped, only if `hubId` still holds it. */
  release(accountId: string, nodeId: string, hubId: string): Promise<boolean>
  /** Ids of the nodes (with accounts) `hubId` holds. */
  heldBy(hubId: string): Promise<Array<{ accountId: string; id: string }>>
  /**
   * Calls `onMessage` with each message sent to `hubId`; resolves once listening, with the unsubscribe.
   * `onReady` runs each time listening is in effect (at start and after the listening connection came
   * back): messages sent while it was away are lost, so the hub re-reads what they would have said.
   */
  listen(hubId: string, onMessage: (message: string) => void, onReady?: () => void): Promise<() => Promise<void>>
  /** Commands another hub asked `hubId` to send that are not finished yet (for a hub that may have missed their wake-up). */
  unfinishedHeldBy(hubId: string): Promise<CommandRecord[]>
  /**
   * Ends the unfinished commands of a stack whose asking hub stopped (no heartbeat within `ttlMs`), so
   * the stack takes operations again; true when there was one.
   */
  endOrphanedStackCommands(accountId: string, stackId: string, ttlMs: number, error: string): Promise<boolean>
  /** Stores the command (naming asker and holder) and wakes its holder with `message`, in one round trip. */
  relay(record: CommandRecord, message: string): Promise<void>
  /** Points an unfinished command at another holder and wakes it with `message`; false when it finished already. */
  retarget(accountId: string, id: string, holderHub: string, message: string): Promise<boolean>
  /** Wakes hub `to` with `message`. */
  notify(to: string, message: string): Promise<void>
  /** Sends hub `to` a message of any length (split over several NOTIFYs if it must be), in no statement. */
  post(to: string, message: string): Promise<void>
  /** Records a result as `finishCommand` does and, if it was the first, wakes hub `to` with `message`; one round trip. */
  finishAndNotify(accountId: string, id: string, patch: CommandPatch & { status: 'success' | 'error' | 'timeout' }, to: string, message: string): Promise<boolean>
}
