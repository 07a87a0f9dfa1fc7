// How the mid-tier reaches its hub over HTTP(S) and SignalR: one HttpClient for key validation and
// negotiate, and on Node thresh's WebSocket/EventSource classes, all with the TLS options
// lib/tls-trust.ts settles on (the pinned fleet CA from --hub-fingerprint, the system's CAs, or none
// with `tls-verify false`). The hub is checked before the first request and again after a failure.
import * as signalR from '@microsoft/signalr'
import { loadSignalRClientOptions } from '../../adapters/index.ts'
import { establishTrust, type TlsClientOptions, type TrustFixes, type TrustSettings } from '../../lib/tls-trust.ts'

export interface HubHttp {
  client: signalR.HttpClient
  /** Checks the hub's certificate (once, until a request fails) and gives the SignalR connection options. */
  connectionOptions(): Promise<Partial<signalR.IHttpConnectionOptions>>
}

const onDeno = () => 'Deno' in globalThis

export function midtierFixes(hubUrl: string): TrustFixes {
  return {
    server: 'the hub',
    pin: (fingerprint) => `thresh run --role midtier --hub-url ${hubUrl} --hub-fingerprint ${fingerprint} (with your other flags)`,
    advertise: (host) => `restart the hub with --advertise ${host}`,
    renew: 'restart the hub: it renews its certificate at start',
  }
}

export function createHubHttp(hubUrl: string, trust: TrustSettings): HubHttp {
  if (onDeno()) {
    // The client's defaults: the system's CAs and DENO_CERT; a pin cannot be checked here.
    return { client: new signalR.DefaultHttpClient(signalR.NullLogger.instance), connectionOptions: async () => ({}) }
  }
  let settled: Promise<{ tls: TlsClientOptions; client: signalR.HttpClient; connectionOptions: Partial<signalR.IHttpConnectionOptions> }> | undefined
  const settle = () =>
    (settled ??= (async () => {
      const tls = await establishTrust(hubUrl, trust, midtierFixes(hubUrl))
      const runtime = (await loadSignalRClientOptions(tls))!
      return { tls, client: runtime.httpClient, connectionOptions: runtime.connectionOptions }
    })().catch((error) => {
      settled = undefined
      throw error
    }))
  class TrustedHttpClient extends signalR.HttpClient {
    async send(request: signalR.HttpRequest): Promise<signalR.HttpResponse> {
      const { client } = await settle()
      try {
        return await client.send(request)
      } catch (error) {
        if (!(error instanceof signalR.HttpError)) settled = undefined
        throw error
      }
    }
  }
  const client = new TrustedHttpClient()
  return {
    client,
    async connectionOptions() {
      const { connectionOptions } = await settle()
      // Negotiate goes through `client` too, so a failed request checks the hub again.
      return { ...connectionOptions, httpClient: client }
    },
  }
}
