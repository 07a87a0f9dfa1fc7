// The runtime-caddy plugin: provides the `proxy-caddy` service runtime-docker uses for stacks with
// `proxy: caddy` (or `proxy: true` on a node whose default proxy is Caddy).
import { definePlugin } from '../../core/index.ts'
import { createCaddyProxy, type CaddyProxyOptions } from './caddy-proxy.ts'

export { CADDY_CONTAINER, CADDY_IMAGE, CADDY_LABELS, caddyLabels, createCaddyProxy } from './caddy-proxy.ts'
export { caddyConfig, matchersOf } from './caddy-routes.ts'
export type { CaddyProxyOptions } from './caddy-proxy.ts'

export default definePlugin((options: CaddyProxyOptions = {}) => ({
  name: 'runtime-caddy',
  provides: ['proxy-caddy'],
  setup(ctx) {
    ctx.provide('proxy-caddy', createCaddyProxy(options))
  },
}))
