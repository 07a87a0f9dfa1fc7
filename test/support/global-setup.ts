// Runs once before the suite: compiles dist/ (spawned Node processes run it). In CI a broken build
// fails the run; on a developer machine it warns, so one engineer's half-done file doesn't stop
// everyone else's tests.
import { execFileSync } from 'node:child_process'

// The root config and each project (vitest.config.ts) run this, each loading the module afresh; one
// build per test run is enough, so the mark lives on the process.
const BUILT = Symbol.for('thresh.test.built')

export default function setup(): void {
  const marks = globalThis as { [BUILT]?: boolean }
  if (marks[BUILT]) return
  marks[BUILT] = true
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
  } catch (error) {
    if (process.env.CI) throw error
    console.warn('[thresh] build failed (see above); tests that spawn `thresh` on Node may fail.')
  }
}
