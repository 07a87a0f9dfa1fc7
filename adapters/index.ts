// The one place that detects the runtime: everything else asks for `loadRuntime()` to serve, or for
// `loadSignalRClientOptions()` to reach another server with the official SignalR client.
import type { RuntimeAdapter, SignalRClientOptions } from './runtime.ts'

export type { HttpServerFactory, ListeningServer, ListenOptions, RuntimeAdapter, SignalRClientOptions } from './runtime.ts'

const onDeno = (): boolean => 'Deno' in globalThis

export async function loadRuntime(): Promise<RuntimeAdapter> {
  if (onDeno()) return (await import('./deno.ts')).denoRuntime
  return (await import('./node.ts')).nodeRuntime
}

/**
 * On Node, thresh's WebSocket, EventSource and HttpClient for the SignalR client (lighter than its
 * fetch-based defaults, and able to skip certificate checks per connection). On Deno, undefined: the
 * client's defaults, which can skip certificate checks only process-wide
 * (--unsafely-ignore-certificate-errors), so there they are checked.
 */
export async function loadSignalRClientOptions(verifyTls: boolean): Promise<SignalRClientOptions | undefined> {
  if (onDeno()) return undefined
  return (await import('./node-signalr-options.ts')).nodeSignalROptions(verifyTls)
}
