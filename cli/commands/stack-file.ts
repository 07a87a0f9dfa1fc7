// Reads a stack file for `thresh stack`: thresh's JSON or a compose file (converted), with `.env` /
// `--env-file` variables, files named in it read relative to it, and every problem listed.
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, resolve } from 'node:path'
import process from 'node:process'
import { ThreshError } from '../../core/index.ts'
import { convertCompose, looksLikeCompose, parseEnvFile, stackNameFrom, type ComposeProblem } from '../../lib/stack/compose/index.ts'
import { parseStack, type StackDefinition, type StackProblem } from '../../lib/stack/index.ts'

export interface StackFileOptions {
  /** Variables for a compose file instead of the `.env` beside it. */
  envFile?: string
  /** Unsupported compose keys become warnings. */
  ignoreUnsupported?: boolean
  /** Deployed through a hub: relative bind mounts cannot be resolved for the node. */
  remote?: boolean
  /** Keep `{file}` for secrets and configs instead of their content (`thresh stack convert`). */
  keepFileReferences?: boolean
}

export interface LoadedStack {
  stack: StackDefinition
  /** The thresh definition to send or print (compose converted; secrets' content read). */
  definition: Record<string, unknown>
}

const where = (p: ComposeProblem) => `${p.path ? `${p.path}` : ''}${p.line ? `${p.path ? ' ' : ''}(line ${p.line}, column ${p.column})` : ''}`
const describe = (p: ComposeProblem) => `${where(p) ? `${where(p)}: ` : ''}${p.message}`

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message)
  }
}

/** Shell variables over the `.env` beside the file (or `--env-file` instead of it), as Compose does. */
function variables(file: string, envFile: string | undefined): Record<string, string> {
  const source = envFile ?? resolve(dirname(file), '.env')
  const vars: Record<string, string> = Object.create(null)
  if (envFile !== undefined || existsSync(source)) {
    let text: string
    try {
      text = readText(source)
    } catch (error) {
      throw new ThreshError({ code: 'file_unreadable', message: `Cannot read the env file ${source}: ${(error as Error).message}` })
    }
    const parsed = parseEnvFile(text)
    if (parsed.errors.length > 0) {
      throw new ThreshError({ code: 'env_file_invalid', message: `${source} line ${parsed.errors[0]!.line}: ${parsed.errors[0]!.message}` })
    }
    Object.assign(vars, parsed.vars)
  }
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) vars[key] = value
  return vars
}

function invalid(file: string, problems: ComposeProblem[], report: (line: string) => void): ThreshError {
  const n = problems.length
  if (n > 1) for (const e of problems) report(`  ${describe(e)}`)
  return new ThreshError({
    code: 'stack_invalid',
    message: `${file} is not a valid stack: ${n === 1 ? describe(problems[0]!) : `${n} problems, listed above`}`,
    status: 400,
    details: problems,
  })
}

/** Secrets and configs given as `{file}` in a JSON definition, read relative to it. */
function readFileReferences(definition: Record<string, unknown>, base: string, problems: StackProblem[]): void {
  for (const kind of ['secrets', 'configs'] as const) {
    const files = definition[kind]
    if (typeof files !== 'object' || files === null) continue
    for (const [name, entry] of Object.entries(files as Record<string, unknown>)) {
      const ref = (entry as { file?: unknown })?.file
      if (typeof ref !== 'string') continue
      try {
        ;(files as Record<string, unknown>)[name] = { content: readText(resolve(base, ref)) }
      } catch (error) {
        problems.push({ path: `${kind}.${name}.file`, message: `Cannot read ${ref}: ${(error as Error).message}` })
      }
    }
  }
}

/** Reads and validates a stack file; every problem is listed before the one-sentence failure, warnings as they come. */
export async function readStackFile(file: string, report: (line: string) => void, options: StackFileOptions = {}): Promise<LoadedStack> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ThreshError({ code: 'file_unreadable', message: `Cannot read ${file}: ${(error as Error).message}`, cause: error })
  }
  const base = dirname(resolve(file))
  if (looksLikeCompose(text, file)) {
    const result = convertCompose(text, {
      name: stackNameFrom(basename(base)),
      env: variables(file, options.envFile),
      readFile: (path) => readText(resolve(base, path)),
      ...(options.remote ? {} : { baseDir: base, home: homedir() }),
      ...(options.ignoreUnsupported ? { ignoreUnsupported: true } : {}),
      ...(options.keepFileReferences ? { keepFileReferences: true } : {}),
    })
    for (const w of result.warnings) report(`warning: ${describe(w)}`)
    if (!result.ok) throw invalid(file, result.errors, report)
    return { stack: result.stack, definition: result.definition }
  }
  let definition: Record<string, unknown>
  const parsed = parseStack(text)
  if (!parsed.ok && !/secrets|configs/.test(text)) throw invalid(file, parsed.errors, report)
  try {
    definition = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw invalid(file, parsed.ok ? [] : parsed.errors, report)
  }
  const problems: StackProblem[] = []
  if (!options.keepFileReferences) readFileReferences(definition, base, problems)
  if (problems.length > 0) throw invalid(file, problems, report)
  const again = parseStack(definition)
  if (!again.ok) throw invalid(file, again.errors, report)
  return { stack: again.stack, definition }
}
