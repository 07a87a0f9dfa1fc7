// How the mid-tier reaches its hub over HTTP(S) and SignalR: one HttpClient for key validation and
// negotiate, and on Node thresh's WebSocket/EventSource classes (which skip certificate checks for `tls-verify false`).
import * as signalR from '@microsoft/signalr'
import { loadSignalRClientOptions } from '../../adapters/index.ts'

export interface HubHttp {
  client: signalR.HttpClient
  /** Extra HubConnectionBuilder.withUrl options (insecure transports on Node). */
  connectionOptions: Partial<signalR.IHttpConnectionOptions>
}

export async function createHubHttp(tlsVerify: boolean): Promise<HubHttp> {
  // On Deno this is undefined: the client's defaults, which skip certificate checks only process-wide.
  const runtime = await loadSignalRClientOptions(tlsVerify)
  if (!runtime) return { client: new signalR.DefaultHttpClient(signalR.NullLogger.instance), connectionOptions: {} }
  return { client: runtime.httpClient, connectionOptions: runtime.connectionOptions }
}
