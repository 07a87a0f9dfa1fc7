// The runtime-docker plugin: provides the `runtime` service (stacks on the node's Docker engine).
import { definePlugin } from '../../core/index.ts'
import type { ProgressEvent, StackRuntime } from '../../lib/stack/index.ts'
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

export default definePlugin((options: DockerRuntimeOptions = {}) => ({
  name: 'runtime-docker',
  provides: ['runtime'],
  setup(ctx) {
    const merged = { ...options }
    merged.filesDir ??= defaultFilesDir(ctx.dataDir)
    // The proxy plugin's service (runtime-traefik) when one runs before us; without one, routed stacks are refused.
    if (merged.proxy === undefined && ctx.has('proxy')) merged.proxy = ctx.use('proxy')
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
