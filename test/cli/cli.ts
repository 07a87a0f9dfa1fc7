// Runs the real thresh CLI as a process, with stdin, and keeps stdout and stderr apart.
import { spawn } from 'node:child_process'
import { cliCommand, repoRoot, type Runtime } from '../support/process.ts'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export function thresh(args: string[], env: Record<string, string | undefined>, options: { stdin?: string; runtime?: Runtime } = {}): Promise<CliResult> {
  const [command, argv] = cliCommand(options.runtime ?? 'node', args)
  const childEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', THRESH_HUB_URL: undefined, THRESH_CLI_TOKEN: undefined, ...env }
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key]
  const child = spawn(command, argv, { cwd: repoRoot, env: childEnv as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  child.stdin.end(options.stdin ?? '')
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}
