// The runtime-docker plugin: provides the `runtime` service (stacks on the node's Docker engine).
import { defineFields, definePlugin } from '../../core/index.ts'
import { PROXY_KINDS, type ProgressEvent, type StackRuntime } from '../../lib/stack/index.ts'
import { createDockerRuntime, type DockerRuntimeOptions } from './docker-runtime.ts'
import { defaultFilesDir } from './stack-files.ts'

export { createDockerRuntime } from './docker-runtime.ts'
export type { DockerRuntimeOptions } from './docker-runtime.ts'

declare module '../../core/index.ts' {
  interface ThreshServices {
    runtime: StackRuntime
  }
  interface ThreshEvents {
    'stack:progress': ProgressEvent
  }
}

/** `thresh agent config set default-proxy caddy`: the proxy for stacks that say `proxy: true`. */
export const runtimeDockerFields = defineFields({
  defaultProxy: { type: 'string', description: 'the reverse proxy for stacks with proxy: true', default: 'traefik', oneOf: PROXY_KINDS },
})

export default definePlugin((options: DockerRuntimeOptions = {}) => ({
  name: 'runtime-docker',
  provides: ['runtime'],
  config: runtimeDockerFields,
  setup(ctx) {
    const merged: DockerRuntimeOptions = { defaultProxy: ctx.settings.defaultProxy as DockerRuntimeOptions['defaultProxy'], ...options }
    merged.filesDir ??= defaultFilesDir(ctx.dataDir)
    // The proxy plugins' services (runtime-traefik, runtime-caddy) when they run before us; without one, stacks routed through it are refused.
    if (merged.proxy === undefined && ctx.has('proxy')) merged.proxy = ctx.use('proxy')
    if (merged.proxies === undefined && ctx.has('proxy-caddy')) merged.proxies = { caddy: ctx.use('proxy-caddy') }
    const runtime = createDockerRuntime(merged)
    const withEvents: StackRuntime = {
      ...runtime,
      deploy: (stack, opts) => runtime.deploy(stack, { ...opts, onProgress: relay(opts?.onProgress) }),
      updateService: (name, svc, image, opts) => runtime.updateService(name, svc, image, { ...opts, onProgress: relay(opts?.onProgress) }),
    }
    ctx.provide('runtime', withEvents)

    function relay(listener?: (event: ProgressEvent) => void) {
      return (event: ProgressEvent) => {
        listener?.(event)
        ctx.bus.emit('stack:progress', event)
      }
    }
  },
}))
