// How a CLI command fails: one clear sentence on stderr and a non-zero exit, never a stack trace.
import process from 'node:process'
import { describeError } from '../core/index.ts'

export function fail(error: unknown, exitCode = 1): never {
  process.stderr.write(describeError(error) + '\n')
  process.exit(exitCode)
}
