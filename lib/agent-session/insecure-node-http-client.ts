// A SignalR HttpClient over node:https that skips certificate checks, for `tls-verify false` on
// Node (global fetch offers no per-request way to do that). Loaded only when asked for.
import * as signalR from '@microsoft/signalr'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'

export class InsecureNodeHttpClient extends signalR.HttpClient {
  send(request: signalR.HttpRequest): Promise<signalR.HttpResponse> {
    return new Promise((resolve, reject) => {
      if (request.abortSignal?.aborted) {
        reject(new signalR.AbortError())
        return
      }
      const url = new URL(request.url!)
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const req = send(
        url,
        { method: request.method, headers: request.headers, rejectUnauthorized: false, timeout: request.timeout },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            const body = Buffer.concat(chunks)
            const status = res.statusCode ?? 0
            const content = request.responseType === 'arraybuffer' ? body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) : body.toString('utf8')
            if (status < 200 || status > 299) {
              reject(new signalR.HttpError(typeof content === 'string' && content ? content : res.statusMessage ?? '', status))
              return
            }
            resolve(new signalR.HttpResponse(status, res.statusMessage ?? '', content as string))
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => {
        req.destroy()
        reject(new signalR.TimeoutError())
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
