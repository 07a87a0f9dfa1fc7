// Child process for bench/signalr-transport.mjs: serves either a raw `ws` echo/counter or our
// SignalR server with an equivalent hub on thresh's Node adapter (what `thresh run` serves with),
// and answers `rss`/`count` on stdin so the parent measures only the server's memory.
import { Hono } from 'hono'
import { createInterface } from 'node:readline'
import { WebSocketServer } from 'ws'

const mode = process.argv[2]
let count = 0
let port

if (mode === 'ws') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => wss.on('listening', resolve))
  port = wss.address().port
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const text = data.toString()
      count++
      if (text.startsWith('echo')) socket.send(text)
      else if (text.startsWith('ack')) socket.send('a')
    })
  })
} else {
  const { createSignalRServer } = await import('../dist/lib/signalr/index.js')
  const { nodeRuntime } = await import('../dist/adapters/node.js')
  const app = new Hono()
  const http = nodeRuntime.createServer(app)
  const signalr = createSignalRServer({ app, upgradeWebSocket: http.upgradeWebSocket })
  signalr.mapHub('/bench', {
    methods: {
      Echo: (_ctx, value) => value,
      Ingest: () => {
        count++
      },
    },
  })
  port = (await http.listen({ host: '127.0.0.1', port: 0 })).port
}

console.log(JSON.stringify({ port }))
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'rss') {
    globalThis.gc?.()
    globalThis.gc?.()
    console.log(JSON.stringify({ rss: process.memoryUsage().rss }))
  } else if (line === 'count') {
    console.log(JSON.stringify({ count }))
  }
})
