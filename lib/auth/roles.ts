// The roles a user holds in their account (viewer < operator < admin < owner) and the separate
// `hub-owner` mark of the hub's first owner, who alone may create and list accounts.

export const ACCOUNT_ROLES = ['viewer', 'operator', 'admin', 'owner'] as const
export type AccountRole = (typeof ACCOUNT_ROLES)[number]

/** Not an account role: kept beside one in `roles` so a role change never moves the power to create accounts. */
export const HUB_OWNER = 'hub-owner'

const rank = (role: string): number => ACCOUNT_ROLES.indexOf(role as AccountRole)

export function isAccountRole(value: unknown): value is AccountRole {
  return typeof value === 'string' && rank(value) >= 0
}

/** The user's account role: the highest one listed; a user with none only reads. */
export function accountRoleOf(roles: readonly string[]): AccountRole {
  let best: AccountRole = 'viewer'
  for (const role of roles) if (isAccountRole(role) && rank(role) > rank(best)) best = role
  return best
}

export function hasRole(roles: readonly string[], needed: AccountRole): boolean {
  return rank(accountRoleOf(roles)) >= rank(needed)
}

export function isHubOwner(roles: readonly string[]): boolean {
  return roles.includes(HUB_OWNER)
}

/** The stored `roles` of a user with this account role, keeping a hub-owner mark they had. */
export function rolesFor(role: AccountRole, previous: readonly string[] = []): string[] {
  return isHubOwner(previous) ? [role, HUB_OWNER] : [role]
}
