// The Deno adapter: Deno.serve for HTTP(S), Deno.upgradeWebSocket through hono/deno.
import { upgradeWebSocket } from 'hono/deno'
import type { RuntimeAdapter } from './runtime.ts'

declare const Deno: any

export const denoRuntime: RuntimeAdapter = {
  info: { name: 'deno', version: Deno.version.deno },
  createServer(app) {
    return {
      upgradeWebSocket: upgradeWebSocket as never,
      listen: ({ host, port, path, tls }) =>
        new Promise((resolve, reject) => {
          try {
            const server = Deno.serve(
              {
                ...(path ? { path, transport: 'unix' } : { hostname: host, port }),
                ...(tls ? { cert: tls.cert, key: tls.key } : {}),
                onListen: (addr: { port?: number }) =>
                  resolve({
                    port: addr.port ?? 0,
                    // Deno.serve keeps the certificate it started with: a renewal takes effect at the next start.
                    setTls: () => false,
                    close: async () => {
                      await server.shutdown()
                    },
                  }),
              },
              app.fetch,
            )
          } catch (error) {
            reject(error)
          }
        }),
    }
  },
  onSignal(signal, handler) {
    Deno.addSignalListener(signal, handler)
    return () => Deno.removeSignalListener(signal, handler)
  },
  exit: (code) => Deno.exit(code) as never,
  env: () => Deno.env.toObject(),
  async importModule(specifier) {
    return await import(specifier.startsWith('/') ? `file://${specifier}` : specifier)
  },
}
