// What the official SignalR client is given on Node: thresh's own `ws` (v8, which draws frame masks
// from a pooled random buffer; the v7 the client bundles makes a crypto call per frame), an EventSource
// and an HttpClient over node:http (see node-http-client.ts). With `tls-verify false` all three skip
// certificate checks. Loaded through `loadSignalRClientOptions` in index.ts, on Node only.
import type * as signalR from '@microsoft/signalr'
import type { SignalRClientOptions } from './runtime.ts'

export async function nodeSignalROptions(verifyTls: boolean): Promise<SignalRClientOptions> {
  const [{ default: WebSocket }, eventsource, { NodeHttpClient }] = await Promise.all([
    import('ws'),
    // @ts-ignore: eventsource (a dependency of @microsoft/signalr) ships no types
    import('eventsource'),
    import('./node-http-client.ts'),
  ])
  const EventSource = (eventsource.default ?? eventsource) as new (url: string, init?: Record<string, unknown>) => object
  const tls = verifyTls ? {} : { rejectUnauthorized: false }
  class NodeWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[], init?: Record<string, unknown>) {
      super(address, protocols, { ...init, ...tls })
    }
  }
  class NodeEventSource extends EventSource {
    constructor(url: string, init?: Record<string, unknown>) {
      super(url, verifyTls ? init : { ...init, https: { rejectUnauthorized: false } })
    }
  }
  const httpClient = new NodeHttpClient(verifyTls)
  // These constructor options exist on the client (HttpConnection.ts) but are not in its typings.
  const connectionOptions = { WebSocket: NodeWebSocket, EventSource: NodeEventSource, httpClient } as Partial<signalR.IHttpConnectionOptions>
  return { httpClient, connectionOptions }
}
