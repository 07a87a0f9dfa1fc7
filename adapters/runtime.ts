// The contract each runtime adapter fulfils, so that everything above it is runtime-neutral.
import type * as signalR from '@microsoft/signalr'
import type { Hono } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import type { RuntimeInfo } from '../core/index.ts'

export interface ListenOptions {
  host: string
  port: number
  /** A Unix socket to listen on instead of host:port (the agent's status endpoint). */
  path?: string
  tls?: { cert: string; key: string }
}

export interface ListeningServer {
  port: number
  close(): Promise<void>
  /** Serves a new certificate to new connections (a renewal); false where the runtime cannot (Deno). */
  setTls(tls: { cert: string; key: string }): boolean
}

export interface HttpServerFactory {
  upgradeWebSocket: UpgradeWebSocket
  listen(options: ListenOptions): Promise<ListeningServer>
}

export interface RuntimeAdapter {
  info: RuntimeInfo
  /** Binds an app to this runtime's HTTP server and WebSocket upgrade. */
  createServer(app: Hono): HttpServerFactory
  onSignal(signal: 'SIGINT' | 'SIGTERM', handler: () => void): () => void
  exit(code: number): never
  env(): Record<string, string | undefined>
  /** Imports a module by absolute path or package name, TypeScript included. */
  importModule(specifier: string): Promise<Record<string, unknown>>
}

/** What the official SignalR client needs besides its defaults on a runtime (see `loadSignalRClientOptions`). */
export interface SignalRClientOptions {
  /** For plain HTTP calls next to the connection (e.g. key validation). */
  httpClient: signalR.HttpClient
  /** Spread into `HubConnectionBuilder.withUrl(url, { ...connectionOptions })`. */
  connectionOptions: Partial<signalR.IHttpConnectionOptions>
}
