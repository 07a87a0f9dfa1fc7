// A worked third-party plugin: a route, a WebSocket echo, a service, an event and a teardown.
// Load it from config: { "plugins": [["./examples/hello-plugin/index.ts", { "greeting": "hej" }]] }
import { definePlugin } from '../../core/index.ts'

export interface Greeter {
  greet(who: string): string
}

declare module '../../core/index.ts' {
  interface ThreshServices {
    greeter: Greeter
  }
  interface ThreshEvents {
    'hello:greeted': { who: string }
  }
}

export default definePlugin((options: { greeting?: string } = {}) => ({
  name: 'hello',
  provides: ['greeter'],
  setup(ctx) {
    const greeting = options.greeting ?? 'hello'
    const greeted = ctx.metrics.counter('hello_greetings_total', 'Greetings served by the hello plugin.')
    ctx.provide('greeter', { greet: (who) => `${greeting}, ${who}` })

    ctx.server.app.get('/hello/:who', (c) => {
      const who = c.req.param('who')
      greeted.inc()
      ctx.bus.emit('hello:greeted', { who })
      return c.json({ message: ctx.use('greeter').greet(who), runtime: ctx.runtime.name })
    })
    ctx.server.app.get(
      '/hello-ws',
      ctx.server.upgradeWebSocket(() => ({
        onMessage(event, ws) {
          ws.send(`echo: ${String(event.data)}`)
        },
      })),
    )
    ctx.logger.info(`ready with greeting '${greeting}'`)
    return () => {
      // Printed so a test can see teardown ran on SIGTERM.
      ctx.logger.info('hello plugin stopped')
    }
  },
}))
