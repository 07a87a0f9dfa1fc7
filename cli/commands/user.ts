// `thresh user list|invite|role|remove|revoke|accept`: the users of the account, their roles, and
// invitations (one-time links) for new ones.
import { defineCommand } from 'citty'
import process from 'node:process'
import { ThreshError } from '../../core/index.ts'
import { ACCOUNT_ROLES, isAccountRole, type AccountRole } from '../../lib/auth/roles.ts'
import { writeCredentials } from '../credentials.ts'
import { createHubClient, hubArgs, jsonArg, listOf, normalizeHubUrl, pickOne, resolveHub, seg, type HubClient } from '../hub-client.ts'
import { askHidden, confirm, readStdin } from '../prompt.ts'
import { age, print, printJson, status, table } from '../table.ts'

type User = Record<string, unknown> & { userName?: string; role?: string; hubOwner?: boolean; you?: boolean }
type Invitation = Record<string, unknown> & { id?: string; role?: string; status?: string; token?: string; url?: string; expiresAt?: string }

function roleArg(value: string | undefined): AccountRole {
  const role = value?.toLowerCase()
  if (!isAccountRole(role)) throw new ThreshError({ code: 'role_invalid', message: `Unknown role '${value ?? ''}'; valid roles: ${ACCOUNT_ROLES.join(', ')}.` })
  return role
}

/** `90`, `90s`, `15m`, `12h`, `7d` -> seconds. */
function seconds(value: string): number {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(value.trim())
  if (!match) throw new ThreshError({ code: 'duration_invalid', message: `'${value}' is not a duration; give one such as 3600, 12h or 7d.` })
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]!.toLowerCase() as 's']
}

const listUsers = async (client: HubClient) => listOf<User>(await client.get('/api/users'), 'users')
const listInvitations = async (client: HubClient) => listOf<Invitation>(await client.get('/api/invitations'), 'invitations')

const list = defineCommand({
  meta: { name: 'list', description: 'List the users of the account with their roles, and pending invitations' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const [users, invitations] = await Promise.all([listUsers(client), listInvitations(client)])
    if (args.json) return printJson({ users, invitations })
    print(table([['USER', 'ROLE', 'JOINED'], ...users.map((u) => [`${u.userName ?? '-'}${u.you ? ' (you)' : ''}`, `${u.role ?? '-'}${u.hubOwner ? ' (hub owner)' : ''}`, age(u.createdAt)])]))
    const pending = invitations.filter((i) => i.status === 'pending')
    if (pending.length > 0) {
      print('\nPending invitations:')
      print(table([['ID', 'ROLE', 'BY', 'EXPIRES'], ...pending.map((i) => [String(i.id).slice(0, 8), String(i.role), String(i.createdBy ?? '-'), String(i.expiresAt)])]))
    }
    print(`\n${users.length} user(s) • ${pending.length} pending invitation(s)`)
  },
})

const invite = defineCommand({
  meta: { name: 'invite', description: 'Invite someone with a role; prints a one-time link, shown once' },
  args: {
    role: { type: 'string', description: `${ACCOUNT_ROLES.join(', ')}`, default: 'viewer' },
    expires: { type: 'string', description: 'how long the link works: seconds, or 12h, 7d (default 7d, at most 30d)' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const role = roleArg(args.role)
    const body = { role, ...(args.expires ? { expiresIn: seconds(args.expires) } : {}) }
    const created = await createHubClient(args).post<Invitation>('/api/invitations', body)
    if (args.json) return printJson(created)
    print(`✓ Invited a new ${role} (invitation ${String(created.id).slice(0, 8)}, until ${created.expiresAt}).`)
    print()
    print(`  ${created.url}`)
    print()
    print('Send this link to the person: it works once, and this is the only time it is shown.')
    print(`Without the dashboard: thresh user accept ${created.token} --username NAME`)
  },
})

const role = defineCommand({
  meta: { name: 'role', description: "Change a user's role" },
  args: {
    user: { type: 'positional', description: 'user name', required: true },
    role: { type: 'positional', description: ACCOUNT_ROLES.join(', '), required: true },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const changed = await createHubClient(args).patch<User>(`/api/users/${seg(args.user)}`, { role: roleArg(args.role) })
    if (args.json) return printJson(changed)
    print(`✓ ${changed.userName ?? args.user} is now ${changed.role ?? args.role}.`)
  },
})

const remove = defineCommand({
  meta: { name: 'remove', description: 'Remove a user from the account; their sessions end at once' },
  args: { user: { type: 'positional', description: 'user name', required: true }, force: { type: 'boolean', description: 'do not ask' }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    if (!args.force && !(await confirm(`Remove user ${args.user}? Their sessions end at once.`, `Removing user ${args.user} needs confirmation; pass --force.`))) {
      return print('Nothing was removed.')
    }
    const answer = await client.delete<{ sessionsEnded?: number }>(`/api/users/${seg(args.user)}`)
    if (args.json) return printJson(answer)
    print(`✓ Removed ${args.user}; ${answer?.sessionsEnded ?? 0} session(s) ended.`)
  },
})

const revoke = defineCommand({
  meta: { name: 'revoke', description: 'Revoke a pending invitation: its link stops working' },
  args: { invitation: { type: 'positional', description: 'invitation id or id prefix', required: true }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const found = pickOne(await listInvitations(client), args.invitation, 'invitation', () => [])
    const answer = await client.delete<Invitation>(`/api/invitations/${seg(String(found.id))}`)
    if (args.json) return printJson(answer)
    print(`✓ Revoked invitation ${String(found.id).slice(0, 8)} (${found.role}).`)
  },
})

const accept = defineCommand({
  meta: { name: 'accept', description: 'Accept an invitation: create your user and log in as it' },
  args: {
    token: { type: 'positional', description: 'the invitation link, or its thresh_inv_ token', required: true },
    username: { type: 'string', alias: 'u', description: 'the user name you want', required: true },
    'password-stdin': { type: 'boolean', description: 'read the password from stdin (for scripts)' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    // A link names its hub; a bare token needs --hub or a logged-in hub.
    const link = /^(https?:\/\/[^#]+?)\/?#\/invite\/(thresh_inv_\w+)$/.exec(args.token.trim())
    const token = link ? link[2]! : args.token.trim()
    const target = { ...resolveHub(link && !args.hub ? { ...args, hub: normalizeHubUrl(link[1]!) } : args)!, token: undefined, tokenSource: undefined }
    let password: string
    if (args['password-stdin']) password = await readStdin()
    else if (process.stdin.isTTY) password = await askHidden('Choose a password (at least 12 characters): ')
    else throw new ThreshError({ code: 'credentials_required', message: 'No terminal to ask for a password: pass --password-stdin.' })
    const answer = await createHubClient(args, { auth: false, target }).post<{ accessToken?: string; userName?: string; role?: string; roles?: string[]; expiresAt?: string }>(
      '/api/invitations/accept',
      { token, username: args.username, password },
    )
    if (!answer?.accessToken) throw new ThreshError({ code: 'hub_answer_invalid', message: `The hub at ${target.url} accepted the invitation but did not sign you in.` })
    const path = writeCredentials({
      hubUrl: target.url,
      token: answer.accessToken,
      userName: answer.userName ?? args.username,
      ...(answer.roles ? { roles: answer.roles } : {}),
      ...(answer.expiresAt ? { expiresAt: answer.expiresAt } : {}),
      ...(target.tlsVerify ? {} : { tlsVerify: false }),
      loggedInAt: new Date().toISOString(),
    })
    if (args.json) return printJson({ hubUrl: target.url, userName: answer.userName, role: answer.role, expiresAt: answer.expiresAt, credentialsFile: path })
    print(`✓ Welcome, ${answer.userName}: you joined ${target.url} as ${status(answer.role)} and are logged in.`)
    print(`  Credentials saved to ${path}.`)
  },
})

export default defineCommand({
  meta: { name: 'user', description: 'List users, invite new ones, change roles, remove users, accept an invitation' },
  subCommands: { list, invite, role, remove, revoke, accept },
})
