// The one place that detects the runtime: everything else asks for `loadRuntime()` to serve, or for
// `loadSignalRClientOptions()` to reach another server with the official SignalR client.
import type { TlsClientOptions } from '../lib/tls-trust.ts'
import type { RuntimeAdapter, SignalRClientOptions } from './runtime.ts'

export type { HttpServerFactory, ListeningServer, ListenOptions, RuntimeAdapter, SignalRClientOptions } from './runtime.ts'

const onDeno = (): boolean => 'Deno' in globalThis

export async function loadRuntime(): Promise<RuntimeAdapter> {
  if (onDeno()) return (await import('./deno.ts')).denoRuntime
  return (await import('./node.ts')).nodeRuntime
}

/**
 * On Node, thresh's WebSocket, EventSource and HttpClient for the SignalR client (lighter than its
 * fetch-based defaults, and able to take a pinned CA or skip certificate checks per connection). On
 * Deno, undefined: the client's defaults, which trust the system's CAs and DENO_CERT, and skip checks
 * only process-wide (--unsafely-ignore-certificate-errors).
 */
export async function loadSignalRClientOptions(tls: TlsClientOptions): Promise<SignalRClientOptions | undefined> {
  if (onDeno()) return undefined
  return (await import('./node-signalr-options.ts')).nodeSignalROptions(tls)
}
