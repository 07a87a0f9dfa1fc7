// The runtime-traefik plugin: provides the `proxy` service runtime-docker uses for `traefik: true` stacks.
import { definePlugin } from '../../core/index.ts'
import { createTraefikProxy, type TraefikProxyOptions } from './traefik-proxy.ts'

export { createTraefikProxy, traefikArgs, TRAEFIK_CONTAINER, TRAEFIK_IMAGE } from './traefik-proxy.ts'
export { routeRule, routerName, traefikLabels } from './labels.ts'
export type { TraefikProxyOptions } from './traefik-proxy.ts'

export default definePlugin((options: TraefikProxyOptions = {}) => ({
  name: 'runtime-traefik',
  provides: ['proxy'],
  setup(ctx) {
    ctx.provide('proxy', createTraefikProxy(options))
  },
}))
