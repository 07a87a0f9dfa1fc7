// Spawns thresh as a real process on Node or Deno and waits for it to serve, for runtime tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const repoRoot: string = new URL('../..', import.meta.url).pathname
export type Runtime = 'node' | 'deno'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export function tempHome(prefix = 'thresh-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export const denoBin: string = join(repoRoot, 'node_modules', '.bin', 'deno')

/** The command line that runs the thresh CLI on a runtime. */
export function cliCommand(runtime: Runtime, args: string[]): [string, string[]] {
  return runtime === 'node'
    ? [process.execPath, [join(repoRoot, 'bin/thresh.mjs'), ...args]]
    : [denoBin, ['run', '-A', '--config', join(repoRoot, 'deno.json'), join(repoRoot, 'cli/main.ts'), ...args]]
}

export interface ThreshProcess {
  child: ChildProcess
  output(): string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export function spawnThresh(runtime: Runtime, args: string[], env: Record<string, string> = {}): ThreshProcess {
  const [command, argv] = cliCommand(runtime, args)
  const child = spawn(command, argv, { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Polls `url` until it answers (any status but the 503 of a server still starting), or fails with the process output. */
export async function waitForHttp(url: string, proc?: ThreshProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) throw new Error(`thresh exited (${proc.child.exitCode}) before serving:\n${proc.output()}`)
    try {
      const response = await fetch(url)
      // Bound but not ready (plugins/start-role): the port is held while the first start finishes.
      if (response.status !== 503 || !(await response.text()).includes('"starting"')) return
      lastError = new Error('still starting')
      await new Promise((r) => setTimeout(r, 150))
    } catch (error) {
      lastError = error
      await new Promise((r) => setTimeout(r, 150))
    }
  }
  throw new Error(`Timed out waiting for ${url}: ${(lastError as Error)?.message}\n${proc?.output() ?? ''}`)
}

/** Waits until the process has printed `text`, or fails with its output. */
export async function waitForOutput(proc: ThreshProcess, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!proc.output().includes(text)) {
    if (proc.child.exitCode !== null) throw new Error(`thresh exited (${proc.child.exitCode}) before printing '${text}':\n${proc.output()}`)
    if (Date.now() > deadline) throw new Error(`Timed out waiting for '${text}':\n${proc.output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
