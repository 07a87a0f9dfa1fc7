// The one-command node install (install/agent.sh) as a user runs it: the pasted command in a shell,
// on a "node" installed under a temporary THRESH_PREFIX, with its agent in the background.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './process.ts'

/** Runs the pasted command in `sh -c`, installing under `prefix`; the agent gets a free status port. */
export async function pasteInstallCommand(command: string, prefix: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('sh', ['-c', command], {
    env: { ...process.env, NO_COLOR: '1', THRESH_PREFIX: prefix, THRESH_PORT: String(await freePort()), THRESH_INSTALL_TIMEOUT: '60' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, output }
}

/** The installed agent's home under `prefix`. */
export const installedHome = (prefix: string): string => join(prefix, 'var/lib/thresh')
export const installedAgentId = (prefix: string): string => readFileSync(join(installedHome(prefix), 'agent-id'), 'utf8').trim()
export const installedPid = (prefix: string): number => Number(readFileSync(join(installedHome(prefix), 'agent.pid'), 'utf8'))

/** Stops the background agent installed under `prefix`, if any. */
export function stopInstalledAgent(prefix: string): void {
  if (!existsSync(join(installedHome(prefix), 'agent.pid'))) return
  try {
    process.kill(installedPid(prefix), 'SIGKILL')
  } catch {
    // Already gone.
  }
}
