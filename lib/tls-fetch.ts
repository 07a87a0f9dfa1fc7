// A fetch over node:http(s) with TLS options of our own (a pinned CA, or no checks with `tls-verify
// false`): Node's global fetch has no per-request switch for either. Node only.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { TlsClientOptions } from './tls-trust.ts'

export function tlsFetch(tls: TlsClientOptions): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const headers = Object.fromEntries(new Headers(init.headers).entries())
      const req = send(url, { method: init.method ?? 'GET', headers, ...(url.protocol === 'https:' ? tls : {}) }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const status = res.statusCode ?? 500
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks)
          resolve(new Response(body, { status, headers: res.headers as Record<string, string> }))
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      init.signal?.addEventListener('abort', () => req.destroy(new DOMException('The request was aborted.', 'AbortError')), { once: true })
      if (init.body !== undefined && init.body !== null) req.write(init.body as string)
      req.end()
    })
}
