// Runs once before the suite: compiles dist/ (spawned Node processes run it) and, in CI, refuses
// to start when a real dependency the tests need is missing, instead of letting tests skip.
import { execFileSync } from 'node:child_process'

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
}
