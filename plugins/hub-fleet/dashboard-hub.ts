// `/dashboardhub`: the dashboard's live channel (SignalR, CLI token). Each connection joins its
// account's group and receives that account's `fleet:live` events as client method calls.
import type { Hub, SignalRServer } from '../../lib/signalr/index.ts'
import type { AuthService, Principal } from '../hub-auth/index.ts'
import type { FleetLiveEvent } from './live-events.ts'

export interface DashboardHub {
  readonly hub: Hub<Principal>
  publish(event: FleetLiveEvent): void
  /** Accounts with at least one dashboard connected here now. */
  watchedAccounts(): Set<string>
  /** Closes connections whose session has ended (logged out, expired, or a password change). */
  sweep(): Promise<void>
}

const groupOf = (accountId: string) => `account:${accountId}`

export function mountDashboardHub(signalr: SignalRServer, auth: AuthService): DashboardHub {
  const hub = signalr.mapHub<Principal>('/dashboardhub', {
    authenticate: ({ token }) => auth.authenticate(token, 'cli'),
    // The dashboard only listens; it has nothing to invoke.
    methods: {},
    onConnected(connection) {
      hub.groups.add(connection.connectionId, groupOf(connection.principal.accountId))
    },
  })
  return {
    hub,
    publish(event) {
      const group = groupOf(event.accountId)
      // Skip serialising events nobody in that account is watching (the usual case for metrics).
      if (hub.groups.members(group).size === 0) return
      hub.clients.group(group).send(event.target, ...event.args)
    },
    watchedAccounts() {
      return new Set([...hub.connections()].map((connection) => connection.principal.accountId))
    },
    async sweep() {
      const verdicts = new Map<string, Promise<boolean>>()
      for (const connection of [...hub.connections()]) {
        const { principal } = connection
        const key = `${principal.accountId}/${principal.sessionId}`
        if (!verdicts.has(key)) verdicts.set(key, auth.sessionIsActive(principal))
        if (!(await verdicts.get(key))) hub.abort(connection.connectionId, 'Your session has ended; sign in again.')
      }
    },
  }
}
