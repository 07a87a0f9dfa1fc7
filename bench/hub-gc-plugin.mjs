// A bench-only plugin (loaded through config `plugins`): POST /bench/gc runs a full GC in the hub
// (started with --expose-gc) and answers its RSS, so memory per agent is measured without garbage.
export default () => ({
  name: 'bench-gc',
  setup(ctx) {
    ctx.server.app.post('/bench/gc', (c) => {
      globalThis.gc?.()
      globalThis.gc?.()
      return c.json({ rss: process.memoryUsage().rss, gc: typeof globalThis.gc === 'function' })
    })
  },
})
