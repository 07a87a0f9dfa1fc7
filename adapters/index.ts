// The one place that detects the runtime: everything else asks for `loadRuntime()`.
import type { RuntimeAdapter } from './runtime.ts'

export type { HttpServerFactory, ListeningServer, ListenOptions, RuntimeAdapter } from './runtime.ts'

export async function loadRuntime(): Promise<RuntimeAdapter> {
  if ('Deno' in globalThis) return (await import('./deno.ts')).denoRuntime
  return (await import('./node.ts')).nodeRuntime
}
