// What the official SignalR client is given on Node: thresh's own `ws` (v8, which draws frame masks
// from a pooled random buffer; the v7 the client bundles makes a crypto call per frame), an EventSource
// and an HttpClient over node:http (see node-http-client.ts). All three take the same TLS options
// (lib/tls-trust.ts): a pinned CA, or no checks with `tls-verify false`. Loaded through
// `loadSignalRClientOptions` in index.ts, on Node only.
import type * as signalR from '@microsoft/signalr'
import type { TlsClientOptions } from '../lib/tls-trust.ts'
import type { SignalRClientOptions } from './runtime.ts'

export async function nodeSignalROptions(tls: TlsClientOptions): Promise<SignalRClientOptions> {
  const [{ default: WebSocket }, eventsource, { NodeHttpClient }] = await Promise.all([
    import('ws'),
    // @ts-ignore: eventsource (a dependency of @microsoft/signalr) ships no types
    import('eventsource'),
    import('./node-http-client.ts'),
  ])
  const EventSource = (eventsource.default ?? eventsource) as new (url: string, init?: Record<string, unknown>) => object
  class NodeWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[], init?: Record<string, unknown>) {
      super(address, protocols, { ...init, ...tls })
    }
  }
  class NodeEventSource extends EventSource {
    constructor(url: string, init?: Record<string, unknown>) {
      super(url, { ...init, https: { ...(init?.https as object | undefined), ...tls } })
    }
  }
  const httpClient = new NodeHttpClient(tls)
  // These constructor options exist on the client (HttpConnection.ts) but are not in its typings.
  const connectionOptions = { WebSocket: NodeWebSocket, EventSource: NodeEventSource, httpClient } as Partial<signalR.IHttpConnectionOptions>
  return { httpClient, connectionOptions }
}
