// The three roles thresh runs as, looked up by name.
import { ThreshError, type RoleDefinition } from '../core/index.ts'

const roles: Record<string, () => Promise<RoleDefinition>> = {
  hub: () => import('./hub.ts').then((m) => m.default),
  midtier: () => import('./midtier.ts').then((m) => m.default),
  agent: () => import('./agent.ts').then((m) => m.default),
}

export const roleNames: string[] = Object.keys(roles)

export async function loadRole(name: string): Promise<RoleDefinition> {
  const load = roles[name]
  if (!load) {
    throw new ThreshError({ code: 'role_unknown', message: `Unknown role '${name}': choose one of ${roleNames.join(', ')}.` })
  }
  return load()
}
