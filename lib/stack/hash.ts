// A stable, runtime-neutral fingerprint of a service's runtime configuration (no node:crypto, so Deno and
// browsers compute the same value); it decides which services a redeploy must recreate.

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`
}

/** 64-bit FNV-1a over the UTF-8 bytes of the stable JSON form, as 16 hex digits. */
export function configHash(value: unknown): string {
  const bytes = new TextEncoder().encode(stableStringify(value))
  let hash = 0xcbf29ce484222325n
  const prime = 0x100000001b3n
  const mask = 0xffffffffffffffffn
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * prime) & mask
  return hash.toString(16).padStart(16, '0')
}
