// How the mid-tier reaches its hub over HTTP(S) and SignalR: one HttpClient for key validation and
// negotiate, and the Node WebSocket/EventSource classes that skip certificate checks for `tls-verify false`.
import * as signalR from '@microsoft/signalr'

export interface HubHttp {
  client: signalR.HttpClient
  /** Extra HubConnectionBuilder.withUrl options (insecure transports on Node). */
  connectionOptions: Partial<signalR.IHttpConnectionOptions>
}

export async function createHubHttp(tlsVerify: boolean): Promise<HubHttp> {
  if (tlsVerify || 'Deno' in globalThis) {
    // Deno skips certificate checks only with --unsafely-ignore-certificate-errors, never per request.
    return { client: new signalR.DefaultHttpClient(signalR.NullLogger.instance), connectionOptions: {} }
  }
  const [{ default: WebSocket }, eventsource, { InsecureNodeHttpClient }] = await Promise.all([
    import('ws'),
    // @ts-ignore: eventsource (a dependency of @microsoft/signalr) ships no types
    import('eventsource'),
    import('../../lib/agent-session/insecure-node-http-client.ts'),
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
  const client = new InsecureNodeHttpClient()
  // These constructor options exist on the client (HttpConnection.ts) but are not in its typings.
  return { client, connectionOptions: { WebSocket: InsecureWebSocket, EventSource: InsecureEventSource, httpClient: client } as Partial<signalR.IHttpConnectionOptions> }
}
