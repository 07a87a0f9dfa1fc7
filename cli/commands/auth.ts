// `thresh auth login|logout|status|token`: sign in to a hub and keep its thresh_cli_ token in credentials.json.
import process from 'node:process'
import { defineCommand } from 'citty'
import { ThreshError } from '../../core/index.ts'
import { isTlsTrustError, presentedFingerprint } from '../../lib/tls-trust.ts'
import { readCredentials, removeCredentials, writeCredentials, writePin, type Credentials } from '../credentials.ts'
import { createHubClient, hubArgs, jsonArg, resolveHub, trustHub, type HubTarget } from '../hub-client.ts'
import { ask, askHidden, confirm, readStdin } from '../prompt.ts'
import { maskSecret, print, printJson, table } from '../table.ts'

interface LoginAnswer {
  accessToken?: string
  expiresAt?: string
  userName?: string
  roles?: string[]
  mustChangePassword?: boolean
}

/** What the hub says about the current session, from whichever shape `GET /api/auth/sessions` takes. */
function currentSession(data: unknown): { userName?: string; expiresAt?: string; roles?: string[] } {
  const record = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined)
  const root = record(data)
  const list = Array.isArray(data) ? data : Array.isArray(root?.sessions) ? (root!.sessions as unknown[]) : []
  const session = record(list.find((s) => record(s)?.current === true)) ?? record(list[0]) ?? record(root?.current) ?? root ?? {}
  const user = record(session.user)
  const pick = (...values: unknown[]) => values.find((v) => typeof v === 'string') as string | undefined
  const roles = [session.roles, user?.roles, root?.roles].find(Array.isArray) as string[] | undefined
  return {
    userName: pick(session.userName, user?.userName, user?.name, root?.userName),
    expiresAt: pick(session.expiresAt, root?.expiresAt),
    roles,
  }
}

/**
 * Before any password: the hub's certificate must be trusted. A pin given or stored is checked; a
 * hub whose CA this machine does not know shows its fingerprint and, on a terminal, asks whether to
 * trust (and pin) it, as ssh does on first contact; without a terminal it refuses with the command.
 */
async function trustForLogin(target: HubTarget, interactive: boolean): Promise<void> {
  try {
    await trustHub(target)
    return
  } catch (error) {
    const failure = isTlsTrustError(error) ? error.failure : undefined
    if (target.fingerprint || (failure !== 'self-signed' && failure !== 'unknown-ca')) throw error
  }
  const { fingerprint } = await presentedFingerprint(target.url)
  const command = `thresh auth login --hub ${target.url} --fingerprint ${fingerprint}`
  if (!interactive) {
    throw new ThreshError({
      code: 'tls_untrusted',
      message: `The hub at ${target.url} presents a certificate from CA ${fingerprint}, which this machine does not trust yet. Check that it is the fingerprint the hub printed at start, then run: ${command}`,
    })
  }
  print(`The hub at ${target.url} presents a certificate from the fleet CA`)
  print(`  ${fingerprint}`)
  print('Compare it with the fingerprint the hub printed at start (also on the dashboard where keys are created).')
  if (!(await confirm('Trust this hub and pin that fingerprint?', `Not trusted. To pin it without a question: ${command}`))) {
    throw new ThreshError({ code: 'tls_untrusted', message: `Not trusted; nothing was sent to ${target.url}.` })
  }
  target.fingerprint = fingerprint
  target.tls = undefined
  await trustHub(target)
  writePin(target.url, fingerprint)
}

const login = defineCommand({
  meta: { name: 'login', description: 'Log in to a hub (username and password, or an existing thresh_cli_ token)' },
  args: {
    ...hubArgs,
    token: { type: 'string', alias: 't', description: 'log in with an existing thresh_cli_ token' },
    username: { type: 'string', alias: 'u', description: 'user name (the password is asked for, or read with --password-stdin)' },
    'password-stdin': { type: 'boolean', description: 'read the password from stdin (for scripts)' },
    ...jsonArg,
  },
  async run({ args }) {
    const target = resolveHub(args)!
    await trustForLogin(target, process.stdin.isTTY === true && !args['password-stdin'])
    let credentials: Credentials
    let mustChangePassword = false
    if (args.token !== undefined) {
      if (!args.token.startsWith('thresh_cli_')) {
        throw new ThreshError({ code: 'token_invalid', message: 'That is not a CLI token: a CLI token starts with thresh_cli_.' })
      }
      const withToken: HubTarget = { ...target, token: args.token, tokenSource: undefined }
      const session = currentSession(await createHubClient(args, { target: withToken }).get('/api/auth/sessions'))
      credentials = { hubUrl: target.url, token: args.token, ...session }
    } else {
      let username = args.username
      let password: string
      if (args['password-stdin']) {
        if (!username) throw new ThreshError({ code: 'username_required', message: '--password-stdin needs --username NAME.' })
        password = await readStdin()
      } else if (process.stdin.isTTY) {
        username ||= await ask('Username: ')
        password = await askHidden('Password: ')
      } else {
        throw new ThreshError({
          code: 'credentials_required',
          message: 'No terminal to ask for a password: pass --username NAME --password-stdin, or --token thresh_cli_...',
        })
      }
      if (!username || !password) throw new ThreshError({ code: 'credentials_required', message: 'A username and a password are both needed to log in.' })
      const answer = await createHubClient(args, { auth: false, target }).post<LoginAnswer>('/api/auth/login', { username, password })
      if (!answer || typeof answer.accessToken !== 'string') {
        throw new ThreshError({ code: 'hub_answer_invalid', message: `The hub at ${target.url} answered the login without a token.` })
      }
      credentials = { hubUrl: target.url, token: answer.accessToken, userName: answer.userName ?? username, roles: answer.roles, expiresAt: answer.expiresAt }
      mustChangePassword = answer.mustChangePassword === true
    }
    if (!target.tlsVerify && args.insecure) credentials.tlsVerify = false
    credentials.loggedInAt = new Date().toISOString()
    if (target.fingerprint && target.tlsVerify) writePin(target.url, target.fingerprint)
    const path = writeCredentials(credentials)
    if (args.json) {
      printJson({ hubUrl: credentials.hubUrl, userName: credentials.userName, roles: credentials.roles, expiresAt: credentials.expiresAt, credentialsFile: path, mustChangePassword, fingerprint: target.fingerprint })
      return
    }
    print(`✓ Logged in to ${credentials.hubUrl}${credentials.userName ? ` as ${credentials.userName}` : ''}.`)
    if (credentials.expiresAt) print(`  Session expires ${credentials.expiresAt}.`)
    print(`  Credentials saved to ${path}.`)
    if (target.fingerprint) print(`  Hub CA pinned: ${target.fingerprint}.`)
    if (mustChangePassword) print('  ! This is a one-time password: choose your own with thresh auth passwd.')
  },
})

const passwd = defineCommand({
  meta: { name: 'passwd', description: 'Change your password on the hub (asked for, or two lines on stdin with --password-stdin)' },
  args: { ...hubArgs, 'password-stdin': { type: 'boolean', description: 'read the current and the new password, one per line, from stdin' } },
  async run({ args }) {
    let currentPassword: string
    let newPassword: string
    if (args['password-stdin']) {
      const [current = '', next = ''] = (await readStdin()).split(/\r?\n/)
      ;[currentPassword, newPassword] = [current, next]
    } else {
      if (!process.stdin.isTTY) {
        throw new ThreshError({ code: 'terminal_required', message: 'No terminal to ask for passwords: pass --password-stdin with the current and the new password on two lines.' })
      }
      currentPassword = await askHidden('Current password: ')
      newPassword = await askHidden('New password (12 characters or more): ')
      if ((await askHidden('New password again: ')) !== newPassword) {
        throw new ThreshError({ code: 'password_mismatch', message: 'The two new passwords differ; nothing was changed.' })
      }
    }
    if (!currentPassword || !newPassword) throw new ThreshError({ code: 'credentials_required', message: 'Both the current and the new password are needed.' })
    await createHubClient(args).post('/api/auth/password', { currentPassword, newPassword })
    print('✓ Password changed. Your other sessions on this hub were ended.')
  },
})

const logout = defineCommand({
  meta: { name: 'logout', description: 'End the session on the hub and forget the stored token' },
  args: { ...jsonArg },
  async run({ args }) {
    const stored = readCredentials()
    if (!stored) {
      if (args.json) printJson({ loggedOut: false })
      else print('Not logged in; nothing to do.')
      return
    }
    let warning: string | undefined
    try {
      const target = resolveHub({ hub: stored.hubUrl })!
      // The stored token, not THRESH_CLI_TOKEN: logout ends the session this file holds.
      await createHubClient({}, { target: { ...target, token: stored.token } }).delete('/api/auth/sessions/current', { timeoutMs: 10_000 })
    } catch (error) {
      warning = (error as Error).message
    }
    removeCredentials()
    if (args.json) {
      printJson({ loggedOut: true, hubUrl: stored.hubUrl, sessionEnded: warning === undefined })
      return
    }
    print(`Logged out of ${stored.hubUrl}.`)
    if (warning) process.stderr.write(`The hub could not end the session (${warning.replace(/\.$/, '')}); the local token is forgotten anyway.\n`)
  },
})

const status = defineCommand({
  meta: { name: 'status', description: 'Show which hub and user this CLI is logged in as' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const target = resolveHub(args, { required: false })
    if (!target?.token) {
      if (args.json) printJson({ loggedIn: false, hubUrl: target?.url })
      else print(target ? `Not logged in to ${target.url}.` : 'Not logged in.')
      process.exitCode = 1
      return
    }
    let check: 'valid' | 'rejected' | 'unreachable'
    let detail = ''
    let session: ReturnType<typeof currentSession> = {}
    try {
      session = currentSession(await createHubClient(args, { target }).get('/api/auth/sessions', { timeoutMs: 10_000 }))
      check = 'valid'
    } catch (error) {
      const status = (error as ThreshError).status
      check = status === 401 || status === 403 ? 'rejected' : 'unreachable'
      detail = (error as Error).message
    }
    const stored = target.credentials
    const info = {
      loggedIn: check !== 'rejected',
      hubUrl: target.url,
      userName: session.userName ?? (target.tokenSource === 'stored' ? stored?.userName : undefined),
      roles: session.roles ?? (target.tokenSource === 'stored' ? stored?.roles : undefined),
      expiresAt: session.expiresAt ?? (target.tokenSource === 'stored' ? stored?.expiresAt : undefined),
      tokenSource: target.tokenSource,
      tlsVerify: target.tlsVerify,
      fingerprint: target.fingerprint,
      session: check,
    }
    if (check === 'rejected') process.exitCode = 1
    if (args.json) {
      printJson(info)
      return
    }
    print(
      table([
        ['Hub:', info.hubUrl],
        ['User:', info.userName ?? '-'],
        ['Roles:', info.roles?.join(', ') || '-'],
        ['Expires:', info.expiresAt ?? '-'],
        ['Token:', `${maskSecret(target.token)} (${target.tokenSource === 'stored' ? 'stored' : 'from THRESH_CLI_TOKEN'})`],
        ['TLS:', target.url.startsWith('https:') ? (!target.tlsVerify ? 'not verified (--insecure)' : target.fingerprint ? `verified, CA pinned ${target.fingerprint}` : 'verified (system CAs)') : 'plain HTTP'],
        ['Session:', check === 'valid' ? 'valid ✓' : `${check} (${detail.replace(/\.$/, '')})`],
      ]),
    )
  },
})

const token = defineCommand({
  meta: { name: 'token', description: 'Print the CLI token for scripts (exits 1 when not logged in)' },
  args: { ...hubArgs },
  run({ args }) {
    const target = resolveHub(args, { required: false })
    if (!target?.token) throw new ThreshError({ code: 'not_logged_in', message: 'Not logged in: run thresh auth login --hub URL first.' })
    process.stdout.write(target.token + '\n')
  },
})

export default defineCommand({
  meta: { name: 'auth', description: 'Log in to a hub and manage the CLI session' },
  subCommands: { login, logout, status, token, passwd },
})
