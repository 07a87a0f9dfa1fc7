// Side names of a service's containers while one replaces the other: the old one set aside (a redeploy's
// rollback copy, or the blue of a blue/green update) and the new one on standby until it takes over.
// Unique, so two operations never collide, and recognisable, so views of a stack and a proxy's routes
// leave them out.

const suffix = () => Math.random().toString(36).slice(2, 8).padEnd(6, '0')

export function asideName(name: string): string {
  return `${name}-old-${suffix()}`
}

export function standbyName(name: string): string {
  return `${name}-new-${suffix()}`
}

/** True for a Docker container name (with or without its leading '/') made by `asideName` or `standbyName`. */
export const isAsideName = (name: string | undefined): boolean => /-(old|new)-[a-z0-9]{6}$/.test(name ?? '')
