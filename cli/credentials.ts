// The CLI's login: `$THRESH_HOME/credentials.json` (mode 600) holding the hub URL and its thresh_cli_ token.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import process from 'node:process'
import { ThreshError } from '../core/index.ts'

export interface Credentials {
  hubUrl: string
  token: string
  userName?: string
  roles?: string[]
  expiresAt?: string
  /** false when the login was made with --insecure: later commands to this hub skip certificate checks too. */
  tlsVerify?: boolean
  loggedInAt?: string
}

export function threshHome(): string {
  return resolve(process.env.THRESH_HOME || join(homedir(), '.thresh'))
}

export function credentialsPath(): string {
  return join(threshHome(), 'credentials.json')
}

export function readCredentials(): Credentials | undefined {
  const path = credentialsPath()
  if (!existsSync(path)) return undefined
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new ThreshError({ code: 'credentials_invalid', message: `${path} is not valid JSON; run thresh auth logout and log in again`, cause })
  }
  const c = data as Partial<Credentials> | null
  if (!c || typeof c.hubUrl !== 'string' || typeof c.token !== 'string') {
    throw new ThreshError({ code: 'credentials_invalid', message: `${path} does not hold a hub and a token; run thresh auth logout and log in again` })
  }
  return c as Credentials
}

/** Written to a temp file created with mode 600 and renamed, so the token is never readable by others, even briefly. */
export function writeCredentials(credentials: Credentials): string {
  const home = threshHome()
  mkdirSync(home, { recursive: true, mode: 0o700 })
  const path = credentialsPath()
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 })
  chmodSync(temp, 0o600)
  renameSync(temp, path)
  return path
}

export function removeCredentials(): boolean {
  const path = credentialsPath()
  if (!existsSync(path)) return false
  rmSync(path)
  return true
}
