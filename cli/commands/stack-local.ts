// `thresh stack` against the local Docker engine: one function per subcommand, no hub involved.
import { ThreshError } from '../../core/index.ts'
import { planStack, type ProgressEvent, type StackDefinition, type StackPlan, type StackRuntime, type StackState } from '../../lib/stack/index.ts'
import { startLocalThresh } from '../local-thresh.ts'
import { noteRollback, withRollbackNote } from './rollback-notes.ts'
import { readStackFile, type StackFileOptions } from './stack-file.ts'

// The agent's stack plugins, loaded on first use as its role loads them: the proxies first, so that
// runtime-docker finds the `proxy` (Traefik) and `proxy-caddy` services for stacks that are routed.
const stackPlugins = [
  () => import('../../plugins/runtime-traefik/index.ts').then((m) => m.default),
  () => import('../../plugins/runtime-caddy/index.ts').then((m) => m.default),
  () => import('../../plugins/runtime-docker/index.ts').then((m) => m.default),
]

/** Runs `use` with the `runtime` service of those plugins, set up for this one command and closed after it. */
async function withRuntime<T>(use: (runtime: StackRuntime) => Promise<T>): Promise<T> {
  const factories = await Promise.all(stackPlugins.map((load) => load()))
  const thresh = await startLocalThresh(factories.map((factory) => factory()))
  try {
    return await use(thresh.use('runtime'))
  } finally {
    await thresh.close('command finished')
  }
}

/** Reads and validates a stack file (thresh JSON or compose); every problem is listed before the one-sentence failure. */
export async function loadStack(file: string, report: (line: string) => void, options: StackFileOptions = {}): Promise<StackDefinition> {
  return (await readStackFile(file, report, options)).stack
}

export async function validateLocal(file: string, report: (line: string) => void, options: StackFileOptions = {}): Promise<StackDefinition> {
  return loadStack(file, report, options)
}

export async function planLocal(file: string, report: (line: string) => void, options: StackFileOptions = {}): Promise<StackPlan> {
  return planStack(await loadStack(file, report, options))
}

export async function upLocal(
  file: string,
  report: (line: string) => void,
  onProgress: (e: ProgressEvent) => void,
  options: StackFileOptions & { rollback?: boolean } = {},
): Promise<StackState> {
  const { rollback, ...fileOptions } = options
  const stack = await loadStack(file, report, fileOptions)
  const state = await withRuntime((runtime) => runtime.deploy(stack, { onProgress, ...(rollback === undefined ? {} : { rollback }) }))
  noteRollback(stack.name, state.rolledBack && state.services.length > 0 ? state.rolledBack : undefined)
  if (state.rolledBack) {
    const after = state.services.length > 0 ? 'it runs as it did before' : 'nothing of it was left behind'
    throw new ThreshError({ code: 'stack_rolled_back', message: `Stack ${stack.name} was rolled back (${after}): ${state.rolledBack}` })
  }
  if (state.status === 'error') {
    throw new ThreshError({ code: 'stack_failed', message: `Stack ${stack.name} failed: ${state.error ?? 'a service did not start'}` })
  }
  return state
}

export async function listLocal(): Promise<StackState[]> {
  return (await withRuntime((runtime) => runtime.list())).map(withRollbackNote)
}

export async function infoLocal(name: string): Promise<StackState> {
  const state = await withRuntime((runtime) => runtime.status(name))
  if (!state) throw notFound(name)
  return withRollbackNote(state)
}

export async function updateLocal(name: string, service: string, image: string, onProgress: (e: ProgressEvent) => void): Promise<StackState> {
  return withRuntime((runtime) => runtime.updateService(name, service, image, { onProgress }))
}

export async function stopLocal(name: string, onProgress: (e: ProgressEvent) => void): Promise<StackState> {
  const state = await withRuntime((runtime) => runtime.stop(name, { onProgress }))
  if (!state) throw notFound(name)
  return state
}

export async function startLocal(name: string, onProgress: (e: ProgressEvent) => void): Promise<StackState> {
  const state = await withRuntime((runtime) => runtime.start(name, { onProgress }))
  if (!state) throw notFound(name)
  if (state.status === 'error') throw new ThreshError({ code: 'stack_failed', message: `Stack ${name} failed to start: ${state.error}` })
  return state
}

export async function destroyLocal(name: string): Promise<boolean> {
  return withRuntime((runtime) => runtime.destroy(name))
}

function notFound(name: string): ThreshError {
  return new ThreshError({ code: 'stack_not_found', message: `No stack named ${name} on the local Docker engine`, status: 404 })
}
