// Reads a secret (a key, a database URL) from a file named by a `...File` setting, so the secret
// itself never appears on a command line, where every local user can read it with `ps`.
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { ThreshError } from '../core/index.ts'

const why: Record<string, string> = {
  ENOENT: 'it does not exist',
  EACCES: 'this user may not read it',
  EPERM: 'this user may not read it',
  EISDIR: 'it is a directory',
}

/** The file's text without its trailing newline; a missing, unreadable or empty file is one sentence naming the flag. */
export function readSecretFile(path: string, flag: string, plugin: string): string {
  const absolute = resolve(path)
  let text: string
  try {
    text = readFileSync(absolute, 'utf8')
  } catch (cause) {
    const code = (cause as { code?: string }).code ?? ''
    throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: `Cannot read ${flag} ${absolute}: ${why[code] ?? (cause as Error).message}.`, cause })
  }
  const secret = text.trim()
  if (!secret) throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: `${flag} ${absolute} is empty.` })
  // As ssh does with private keys: a secret other local users can read is refused, not used.
  if ((statSync(absolute).mode & 0o077) !== 0) {
    throw new ThreshError({ code: 'config_invalid', status: 400, plugin, message: `${flag} ${absolute} can be read by other users of this machine; make it owner-only with chmod 600 ${absolute}.` })
  }
  return secret
}
