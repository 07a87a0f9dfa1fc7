// Reads one of the hub's NDJSON streams (logs, exec output) record by record as it arrives, with the
// same hub, token and TLS rules as every other remote command; aborting closes the response, which
// stops the work on the node.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { version } from '../core/version.ts'
import { hubError, networkError, trustHub, type HubTarget } from './hub-client.ts'

export async function readNdjson(
  target: HubTarget,
  path: string,
  query: Record<string, string | undefined>,
  onRecord: (record: Record<string, unknown>) => void,
  signal?: AbortSignal,
): Promise<void> {
  // The same trust as every other call: the pinned fleet CA, or the system's, or none with --insecure.
  const tls = target.url.startsWith('https:') ? await trustHub(target) : {}
  const url = new URL(target.url + path)
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value)
  const headers: Record<string, string> = { accept: 'application/x-ndjson', 'user-agent': `thresh-cli/${version}` }
  if (target.token) headers.authorization = `Bearer ${target.token}`
  return new Promise((resolve, reject) => {
    const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = requestFn(url, { method: 'GET', headers, ...tls }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      if (status < 200 || status >= 300) {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          let data: unknown
          try {
            data = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          } catch {
            data = undefined
          }
          reject(hubError(target, 'GET', url.pathname, status, res.statusMessage ?? '', data, true))
        })
        return
      }
      let partial = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => {
        const lines = (partial + text).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) {
          if (!line.trim()) continue
          try {
            onRecord(JSON.parse(line) as Record<string, unknown>)
          } catch (error) {
            req.destroy()
            reject(error)
            return
          }
        }
      })
      res.on('end', () => resolve())
      res.on('error', (error) => (signal?.aborted ? resolve() : reject(error)))
      res.on('close', () => resolve())
    })
    req.on('error', (error) => (signal?.aborted ? resolve() : reject(networkError(target, error, 0))))
    signal?.addEventListener('abort', () => req.destroy(), { once: true })
    req.end()
  })
}
