// Connection ids and tokens: 16 random bytes, base64url without padding, because the official client
// appends `id=<token>` to URLs without encoding it.

export function newConnectionId(): string {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Replaces `access_token` values in a URL or query string so they never reach a log. */
export function redactAccessToken(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]')
}
