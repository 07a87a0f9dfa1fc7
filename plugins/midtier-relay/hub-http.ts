// How the mid-tier reaches its hub over HTTP(S) and SignalR: one HttpClient for key validation and
// negotiate, and the Node WebSocket/EventSource classes that skip certificate checks for `tls-verify false`.
import * as signalR from '@microsoft/signalr'
import { insecureSignalROptions } from '../../lib/agent-session/insecure-signalr-options.ts'

export interface HubHttp {
  client: signalR.HttpClient
  /** Extra HubConnectionBuilder.withUrl options (insecure transports on Node). */
  connectionOptions: Partial<signalR.IHttpConnectionOptions>
}

export async function createHubHttp(tlsVerify: boolean): Promise<HubHttp> {
  // On Deno `insecure` is undefined: it skips certificate checks only process-wide, never per request.
  const insecure = tlsVerify ? undefined : await insecureSignalROptions()
  if (!insecure) return { client: new signalR.DefaultHttpClient(signalR.NullLogger.instance), connectionOptions: {} }
  return { client: insecure.httpClient, connectionOptions: insecure.connectionOptions }
}
