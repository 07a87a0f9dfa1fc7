// `tls-verify false` for the official SignalR client on Node: an HttpClient, WebSocket and
// EventSource that skip certificate checks. Deno can only skip them process-wide
// (--unsafely-ignore-certificate-errors), so there it returns nothing and certificates are checked.
import type * as signalR from '@microsoft/signalr'

export interface InsecureSignalROptions {
  /** For plain HTTP calls next to the connection (e.g. key validation). */
  httpClient: signalR.HttpClient
  /** Spread into `HubConnectionBuilder.withUrl(url, { ...connectionOptions })`. */
  connectionOptions: Partial<signalR.IHttpConnectionOptions>
}

export async function insecureSignalROptions(): Promise<InsecureSignalROptions | undefined> {
  if ('Deno' in globalThis) return undefined
  const [{ default: WebSocket }, eventsource, { InsecureNodeHttpClient }] = await Promise.all([
    import('ws'),
    // @ts-ignore: eventsource (a dependency of @microsoft/signalr) ships no types
    import('eventsource'),
    import('./insecure-node-http-client.ts'),
  ])
  const EventSource = (eventsource.default ?? eventsource) as new (url: string, init?: Record<string, unknown>) => object
  class InsecureWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[], init?: Record<string, unknown>) {
      super(address, protocols, { ...init, rejectUnauthorized: false })
    }
  }
  class InsecureEventSource extends EventSource {
    constructor(url: string, init?: Record<string, unknown>) {
      super(url, { ...init, https: { rejectUnauthorized: false } })
    }
  }
  const httpClient = new InsecureNodeHttpClient()
  // These constructor options exist on the client (HttpConnection.ts) but are not in its typings.
  const connectionOptions = { WebSocket: InsecureWebSocket, EventSource: InsecureEventSource, httpClient } as Partial<signalR.IHttpConnectionOptions>
  return { httpClient, connectionOptions }
}
