// The Node adapter: @hono/node-server for HTTP(S), `ws` for WebSocket upgrades (node-websocket.ts),
// jiti to load TypeScript config files and plugins on Node 20.
import { createAdaptorServer } from '@hono/node-server'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Server as TlsServer } from 'node:tls'
import { pathToFileURL } from 'node:url'
import { createNodeWebSocket } from './node-websocket.ts'
import type { RuntimeAdapter } from './runtime.ts'

// A fleet reconnecting at once after a restart arrives faster than it is accepted: with Node's default
// backlog (511) the kernel drops the surplus SYNs, and clients retry those only after 1, 3, 7 s. The
// kernel caps this at net.core.somaxconn (4096 by default): a mid-tier for tens of thousands of agents
// needs that raised too (docs/deployment: `sysctl net.core.somaxconn=65535`).
const LISTEN_BACKLOG = 65535

export const nodeRuntime: RuntimeAdapter = {
  info: { name: 'node', version: process.versions.node },
  createServer(app) {
    const webSockets = createNodeWebSocket(app)
    return {
      upgradeWebSocket: webSockets.upgradeWebSocket as never,
      listen: ({ host, port, path, tls }) =>
        new Promise((resolve, reject) => {
          const server = createAdaptorServer({
            fetch: app.fetch,
            ...(tls ? { createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key } } : {}),
          })
          server.once('error', reject)
          server.on('upgrade', (incoming, socket, head) => void webSockets.handleUpgrade(incoming, socket, head))
          server.listen(path ? { path, backlog: LISTEN_BACKLOG } : { host, port, backlog: LISTEN_BACKLOG }, () => {
            server.off('error', reject)
            resolve({
              port: path ? 0 : (server.address() as AddressInfo).port,
              setTls: (next) => {
                if (!tls) return false
                ;(server as unknown as TlsServer).setSecureContext({ cert: next.cert, key: next.key })
                return true
              },
              close: () =>
                new Promise<void>((done) => {
                  server.close(() => done())
                  webSockets.terminateAll()
                  // Idle keep-alive and upgraded sockets would hold close() open forever.
                  ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
                }),
            })
          })
        }),
    }
  },
  onSignal(signal, handler) {
    process.on(signal, handler)
    return () => void process.off(signal, handler)
  },
  exit: (code) => process.exit(code),
  env: () => process.env,
  async importModule(specifier) {
    if (/\.(c|m)?ts$/.test(specifier)) {
      const { createJiti } = await import('jiti')
      return (await createJiti(import.meta.url, { interopDefault: false }).import(specifier)) as Record<string, unknown>
    }
    return (await import(specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier)) as Record<string, unknown>
  },
}
