// Makes a missing real dependency (Docker, PostgreSQL, Deno, Chromium) loud: in CI it fails the
// suite instead of skipping; on a developer machine it fails too, with the command that installs it.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { denoBin } from './process.ts'

const checks: Record<string, { ok: () => boolean; install: string }> = {
  deno: { ok: () => existsSync(denoBin) && run(denoBin, ['--version']), install: 'npm install (deno is a devDependency; approve its install script)' },
  docker: { ok: () => run('docker', ['info']), install: 'apt-get install -y docker.io && bash scripts/docker-start.sh' },
  chromium: { ok: () => existsSync('/usr/bin/chromium'), install: 'apt-get install -y chromium' },
  postgres: { ok: () => run('pg_isready', ['-h', '127.0.0.1', '-p', '5432']), install: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' },
  // script(1) gives a test a real terminal (a pty), for prompts that only a terminal gets.
  script: { ok: () => run('script', ['-qec', 'true', '/dev/null']), install: 'apt-get install -y bsdutils' },
}

function run(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 15_000 })
    return true
  } catch {
    return false
  }
}

const verified = new Set<string>()

/** Throws at collection time when a tool the tests need is missing, naming how to install it. */
export function requireTool(name: keyof typeof checks): void {
  if (verified.has(name)) return
  const check = checks[name]!
  if (!check.ok()) throw new Error(`These tests need ${name}, which is not available here. Install it: ${check.install}`)
  verified.add(name)
}
