// A worked third-party plugin: a setting, a route, a WebSocket echo, a service, an event and a teardown.
// Load it from config: { "plugins": ["./examples/hello-plugin/index.ts"], "helloGreeting": "hej" }
import { defineFields, definePlugin } from '../../core/index.ts'

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

// A setting: `"helloGreeting"` in the config file, THRESH_HELLO_GREETING, or `--hello-greeting=…`.
const fields = defineFields({
  helloGreeting: { type: 'string', description: 'what /hello/:who says', default: 'hello', pattern: /^[\p{L} ,!.'-]{1,40}$/u, expected: 'up to 40 letters, spaces and punctuation' },
})

// An option: how the code that loads the plugin wires it, set in `plugins: [[path, { route }]]`.
export default definePlugin((options: { route?: string } = {}) => ({
  name: 'hello',
  provides: ['greeter'],
  config: fields,
  setup(ctx) {
    const greeting = ctx.settings.helloGreeting
    const route = options.route ?? '/hello'
    const greeted = ctx.metrics.counter('hello_greetings_total', 'Greetings served by the hello plugin.')
    ctx.provide('greeter', { greet: (who) => `${greeting}, ${who}` })

    ctx.server.app.get(`${route}/:who`, (c) => {
      const who = c.req.param('who')
      greeted.inc()
      ctx.bus.emit('hello:greeted', { who })
      return c.json({ message: ctx.use('greeter').greet(who), runtime: ctx.runtime.name })
    })
    ctx.server.app.get(
      `${route}-ws`,
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
