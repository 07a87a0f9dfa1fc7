// Who a request comes from, as the `auth` service answers it; every plugin that acts for someone
// records them the same way.

export type CredentialKind = 'cli' | 'live' | 'mid'

export interface Principal {
  kind: CredentialKind
  accountId: string
  /** Key credentials (live, mid). */
  keyId?: string
  /** Session credentials (cli). */
  userId?: string
  sessionId?: string
  userName?: string
  roles: string[]
}

/** The name the audit log gives a principal: the user, or the key. */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'cli') return principal.userName ?? principal.userId ?? 'user'
  return `${principal.kind}-key:${principal.keyId}`
}
