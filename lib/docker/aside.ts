// The side name of an old container while its replacement starts (a redeploy's rollback copy, or the
// blue of a blue/green update): unique, so two operations never collide, and recognisable, so views of a
// stack and a proxy's routes leave it out.

export function asideName(name: string): string {
  return `${name}-old-${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`
}

/** True for a Docker container name (with or without its leading '/') made by `asideName`. */
export const isAsideName = (name: string | undefined): boolean => /-old-[a-z0-9]{6}$/.test(name ?? '')
