// A stack's secrets and configs on the node: written before its containers are created, one file per
// content digest (so a rotated secret is a new file and the old container keeps its own until replaced),
// bind-mounted read-only, and removed with the stack.
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import process from 'node:process'
import { STACK_FILES_DIR } from '../../lib/data-dir.ts'
import type { StackDefinition, StackPlan } from '../../lib/stack/index.ts'
import { stackFilePath } from './container-spec.ts'

/** `$THRESH_HOME/stack-files` (default `~/.thresh/stack-files`). */
export function defaultFilesDir(dataDir?: string): string {
  return join(dataDir ?? process.env.THRESH_HOME ?? join(homedir(), '.thresh'), STACK_FILES_DIR)
}

/** Writes every secret and config the plan's services mount, with the content `stack` carries. */
export async function writeStackFiles(filesDir: string, plan: StackPlan, stack: StackDefinition): Promise<void> {
  for (const service of plan.services) {
    for (const kind of ['secrets', 'configs'] as const) {
      for (const file of service[kind] ?? []) {
        const path = stackFilePath(filesDir, service.labels, kind, file)
        await mkdir(dirname(path), { recursive: true, mode: 0o700 })
        await chmod(filesDir, 0o700).catch(() => {})
        const mode = file.mode ?? 0o444
        await writeFile(path, stack[kind]?.[file.source]?.content ?? '', { mode })
        await chmod(path, mode)
      }
    }
  }
}

export async function removeStackFiles(filesDir: string, account: string, stack: string): Promise<void> {
  await rm(join(filesDir, `${account}.${stack}`), { recursive: true, force: true })
}
