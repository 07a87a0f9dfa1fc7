// Questions the CLI asks a person at a terminal (confirmations, hidden passwords), and stdin for scripts.
import { createInterface } from 'node:readline/promises'
import process from 'node:process'
import { ThreshError } from '../core/index.ts'

/** Asks `question [y/N]` on a terminal; without one, refuses with `refusal` (which names the flag that confirms). */
export async function confirm(question: string, refusal: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new ThreshError({ code: 'confirmation_required', message: refusal })
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

export async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return (await rl.question(question)).trim()
  } finally {
    rl.close()
  }
}

/** Reads a line at a terminal without echoing it (a password). */
export function askHidden(question: string): Promise<string> {
  const stdin = process.stdin
  process.stdout.write(question)
  return new Promise((resolve, reject) => {
    let value = ''
    stdin.setRawMode(true)
    stdin.resume()
    stdin.setEncoding('utf8')
    const done = (error?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      process.stdout.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done()
        if (char === '\u0003') return done(new ThreshError({ code: 'cancelled', message: 'Cancelled.' }))
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1)
        else value += char
      }
    }
    stdin.on('data', onData)
  })
}

/** All of stdin, without the final newline: how scripts hand over a password (`--password-stdin`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}
