// Connection ids and tokens: 16 random bytes, base64url without padding, because the official client
// appends `id=<token>` to URLs without encoding it.

// Random bytes are drawn 4 KiB at a time: one getRandomValues call per connection id cost ~30 µs on a
// small VM, a tenth of what accepting a connection costs. Same generator, fewer calls.
const POOL_SIZE = 4096
const pool = new Uint8Array(POOL_SIZE)
let used = POOL_SIZE

export function newConnectionId(): string {
  if (used + 16 > POOL_SIZE) {
    crypto.getRandomValues(pool)
    used = 0
  }
  let binary = ''
  for (let i = used; i < used + 16; i++) binary += String.fromCharCode(pool[i]!)
  used += 16
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Replaces `access_token` values in a URL or query string so they never reach a log. */
export function redactAccessToken(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]')
}
