// The CLI's login: `$THRESH_HOME/credentials.json` (mode 600) holding the hub URL and its thresh_cli_
// token, and the pinned fleet-CA fingerprint of every hub this CLI trusts (kept across logouts, as
// ssh's known_hosts).
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

interface CredentialsFile extends Partial<Credentials> {
  /** Hub URL -> the fleet CA fingerprint pinned for it (`sha256:…`). */
  pins?: Record<string, string>
}

export function threshHome(): string {
  return resolve(process.env.THRESH_HOME || join(homedir(), '.thresh'))
}

export function credentialsPath(): string {
  return join(threshHome(), 'credentials.json')
}

function readFile(): CredentialsFile | undefined {
  const path = credentialsPath()
  if (!existsSync(path)) return undefined
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new ThreshError({ code: 'credentials_invalid', message: `${path} is not valid JSON; run thresh auth logout and log in again`, cause })
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ThreshError({ code: 'credentials_invalid', message: `${path} does not hold a hub and a token; run thresh auth logout and log in again` })
  }
  return data as CredentialsFile
}

export function readCredentials(): Credentials | undefined {
  const c = readFile()
  if (!c || (c.hubUrl === undefined && c.token === undefined)) return undefined
  if (typeof c.hubUrl !== 'string' || typeof c.token !== 'string') {
    throw new ThreshError({ code: 'credentials_invalid', message: `${credentialsPath()} does not hold a hub and a token; run thresh auth logout and log in again` })
  }
  const { pins: _pins, ...credentials } = c
  return credentials as Credentials
}

/** The fingerprint pinned for a hub URL, if any. */
export function readPin(hubUrl: string): string | undefined {
  const pin = readFile()?.pins?.[hubUrl]
  return typeof pin === 'string' ? pin : undefined
}

/** Written to a temp file created with mode 600 and renamed, so the token is never readable by others, even briefly. */
function writeFile(data: CredentialsFile): string {
  const home = threshHome()
  mkdirSync(home, { recursive: true, mode: 0o700 })
  const path = credentialsPath()
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 })
  chmodSync(temp, 0o600)
  renameSync(temp, path)
  return path
}

/** Stores the login; the pins already there stay. */
export function writeCredentials(credentials: Credentials): string {
  const pins = readFile()?.pins
  return writeFile({ ...credentials, ...(pins ? { pins } : {}) })
}

/** Pins a hub's fleet CA fingerprint for every later command to that hub. */
export function writePin(hubUrl: string, fingerprint: string): string {
  const file = readFile() ?? {}
  return writeFile({ ...file, pins: { ...file.pins, [hubUrl]: fingerprint } })
}

/** Forgets the login; pinned fingerprints stay, as known_hosts entries do. */
export function removeCredentials(): boolean {
  const file = readFile()
  if (!file) return false
  const had = file.hubUrl !== undefined || file.token !== undefined
  if (file.pins && Object.keys(file.pins).length > 0) writeFile({ pins: file.pins })
  else rmSync(credentialsPath())
  return had
}
