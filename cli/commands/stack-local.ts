// `thresh stack` against the local Docker engine: one function per subcommand, no hub involved.
import { readFile } from 'node:fs/promises'
import { ThreshError } from '../../core/index.ts'
import { parseStack, planStack, type ProgressEvent, type StackDefinition, type StackPlan, type StackRuntime, type StackState } from '../../lib/stack/index.ts'
import { startLocalThresh } from '../local-thresh.ts'
import { noteRollback, withRollbackNote } from './rollback-notes.ts'

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

/** Reads and validates a stack file; every problem is listed before the one-sentence failure. */
export async function loadStack(file: string, report: (line: string) => void): Promise<StackDefinition> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ThreshError({ code: 'file_unreadable', message: `Cannot read ${file}: ${(error as Error).message}`, cause: error })
  }
  const result = parseStack(text)
  if (result.ok) return result.stack
  const n = result.errors.length
  if (n > 1) for (const e of result.errors) report(`  ${e.path ? `${e.path}: ` : ''}${e.message}`)
  throw new ThreshError({
    code: 'stack_invalid',
    message: `${file} is not a valid stack: ${n === 1 ? `${result.errors[0]!.path ? `${result.errors[0]!.path}: ` : ''}${result.errors[0]!.message}` : `${n} problems, listed above`}`,
    status: 400,
    details: result.errors,
  })
}

export async function validateLocal(file: string, report: (line: string) => void): Promise<StackDefinition> {
  return loadStack(file, report)
}

export async function planLocal(file: string, report: (line: string) => void): Promise<StackPlan> {
  return planStack(await loadStack(file, report))
}

export async function upLocal(file: string, report: (line: string) => void, onProgress: (e: ProgressEvent) => void, options: { rollback?: boolean } = {}): Promise<StackState> {
  const stack = await loadStack(file, report)
  const state = await withRuntime((runtime) => runtime.deploy(stack, { onProgress, ...options }))
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
