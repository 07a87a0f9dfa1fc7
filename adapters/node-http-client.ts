// A SignalR HttpClient over node:http(s), used by the official client on Node instead of its default:
// that one wraps global fetch (undici) with tough-cookie and fetch-cookie, several MB of heap in a
// small agent, and cannot take a pinned CA or skip certificate checks per request. Cookies the
// server sets (a load balancer's affinity cookie) are kept per origin and sent back, as the default does.
import * as signalR from '@microsoft/signalr'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { TlsClientOptions } from '../lib/tls-trust.ts'

export class NodeHttpClient extends signalR.HttpClient {
  private readonly cookies = new Map<string, Map<string, string>>()
  private readonly tls: TlsClientOptions

  constructor(tls: TlsClientOptions = { rejectUnauthorized: true }) {
    super()
    this.tls = tls
  }

  override getCookieString(url: string): string {
    const jar = this.cookies.get(new URL(url).host)
    return jar ? [...jar].map(([name, value]) => `${name}=${value}`).join('; ') : ''
  }

  private keepCookies(url: URL, setCookie: string[] | undefined): void {
    if (!setCookie?.length) return
    let jar = this.cookies.get(url.host)
    if (!jar) this.cookies.set(url.host, (jar = new Map()))
    for (const line of setCookie) {
      const pair = line.split(';', 1)[0]!
      const at = pair.indexOf('=')
      if (at > 0) jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim())
    }
  }

  send(request: signalR.HttpRequest): Promise<signalR.HttpResponse> {
    return new Promise((resolve, reject) => {
      if (request.abortSignal?.aborted) {
        reject(new signalR.AbortError())
        return
      }
      const url = new URL(request.url!)
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const cookie = this.getCookieString(url.href)
      const headers = { ...request.headers, ...(cookie ? { Cookie: cookie } : {}) }
      let settled = false
      const req = send(url, { method: request.method, headers, ...(url.protocol === 'https:' ? this.tls : {}), timeout: request.timeout }, (res) => {
        this.keepCookies(url, res.headers['set-cookie'])
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          const status = res.statusCode ?? 0
          const content = request.responseType === 'arraybuffer' ? body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) : body.toString('utf8')
          settled = true
          if (status < 200 || status > 299) {
            reject(new signalR.HttpError(typeof content === 'string' && content ? content : res.statusMessage ?? '', status))
            return
          }
          resolve(new signalR.HttpResponse(status, res.statusMessage ?? '', content as string))
        })
        res.on('error', reject)
      })
      req.on('timeout', () => {
        // Timers run before I/O in a turn of the event loop: after a turn busy past the deadline (a
        // mid-tier taking back a whole fleet at once, every agent waiting on one key validation) the
        // answer may already be in the socket. Look once more after the I/O phase before giving up.
        setImmediate(() => {
          if (settled) return
          req.destroy()
          reject(new signalR.TimeoutError())
        })
      })
      req.on('error', (error) => reject(request.abortSignal?.aborted ? new signalR.AbortError() : error))
      if (request.abortSignal) {
        request.abortSignal.onabort = () => {
          req.destroy()
          reject(new signalR.AbortError())
        }
      }
      if (request.content !== undefined && request.content !== '') req.write(typeof request.content === 'string' ? request.content : Buffer.from(request.content))
      req.end()
    })
  }
}
