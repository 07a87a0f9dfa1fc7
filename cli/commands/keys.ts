// `thresh keys list|create|revoke|rotate`: agent (thresh_live_) and mid-tier (thresh_mid_) keys of the account.
import { defineCommand } from 'citty'
import { ThreshError } from '../../core/index.ts'
import { createHubClient, hubArgs, jsonArg, listOf, pickOne, seg, type HubClient } from '../hub-client.ts'
import { age, print, printJson, status, table } from '../table.ts'

type Key = Record<string, unknown> & { id?: string; name?: string; type?: string; key?: string }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)

/** active, expiring (an old key in its rotation grace period), expired or revoked. */
export function keyStatus(key: Key, now = Date.now()): string {
  if (str(key.status)) return str(key.status)!
  if (key.revoked === true || str(key.revokedAt)) return 'revoked'
  const until = str(key.revokeAfter) ?? str(key.expiresAt)
  if (until) return Date.parse(until) > now ? 'expiring' : 'expired'
  return 'active'
}

/** Time until an ISO date, as `23h`. */
const left = (iso: unknown) => age(Date.now() - (Date.parse(String(iso)) - Date.now()))

async function listKeys(client: HubClient): Promise<Key[]> {
  return listOf<Key>(await client.get('/api/keys'), 'keys')
}

/** By id, id prefix or name; after a rotation two keys share a name, and the name means the live one. */
async function findKey(client: HubClient, arg: string): Promise<Key> {
  const keys = await listKeys(client)
  const named = keys.filter((k) => typeof k.name === 'string' && k.name.toLowerCase() === arg.toLowerCase())
  const active = named.filter((k) => keyStatus(k) === 'active')
  if (named.length > 1 && active.length === 1) return active[0]!
  return pickOne(keys, arg, 'key', (k) => [k.name])
}

function showSecret(key: Key, what: string): void {
  print(`✓ ${what}`)
  print()
  print(`  ${key.key}`)
  print()
  print('This is the only time the key is shown: store it now. The hub keeps only its hash.')
}

const list = defineCommand({
  meta: { name: 'list', description: 'List the account keys (never their secrets)' },
  args: { ...hubArgs, ...jsonArg },
  async run({ args }) {
    const keys = await listKeys(createHubClient(args))
    if (args.json) return printJson(keys)
    if (keys.length === 0) return print('No keys yet: create one with thresh keys create --type agent --name NAME.')
    const prefix = (k: Key) => str(k.prefix) ?? str(k.keyPrefix)
    const withPrefix = keys.some(prefix)
    print(
      table([
        ['ID', 'NAME', 'TYPE', ...(withPrefix ? ['KEY'] : []), 'STATUS', 'CREATED'],
        ...keys.map((k) => [
          String(k.id ?? '-').slice(0, 8),
          str(k.name) ?? '-',
          str(k.type) ?? '-',
          ...(withPrefix ? [prefix(k) ?? '-'] : []),
          status(keyStatus(k)) + (keyStatus(k) === 'expiring' && str(k.expiresAt) ? ` (${left(k.expiresAt)} left)` : ''),
          age(k.createdAt),
        ]),
      ]),
    )
    const active = keys.filter((k) => keyStatus(k) === 'active' || keyStatus(k) === 'expiring').length
    print(`\n${keys.length} key(s) • ${active} usable`)
  },
})

const create = defineCommand({
  meta: { name: 'create', description: 'Create an agent or mid-tier key; the key is shown once' },
  args: {
    type: { type: 'string', description: 'agent (thresh_live_) or midtier (thresh_mid_)', default: 'agent' },
    name: { type: 'string', description: 'a name to recognise the key by' },
    ...hubArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const type = args.type === 'mid' || args.type === 'mid-tier' ? 'midtier' : args.type
    if (type !== 'agent' && type !== 'midtier') {
      throw new ThreshError({ code: 'key_type_invalid', message: `Unknown key type '${args.type}'; valid types: agent, midtier.` })
    }
    const name = args.name ?? `${type}-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`
    const client = createHubClient(args)
    const key = await client.post<Key>('/api/keys', { type, name })
    if (args.json) return printJson(key)
    showSecret(key, `Created ${type} key ${key.name ?? name} (id ${String(key.id ?? '?').slice(0, 8)}).`)
    const fingerprint = str(key.caFingerprint)
    if (fingerprint) print(`The hub's fleet CA fingerprint (what the node pins): ${fingerprint}`)
    const pin = fingerprint ? ` --hub-fingerprint ${fingerprint}` : ''
    if (type === 'agent' && str(key.installCommand)) {
      print()
      print('Add a node with it: paste this one command on the node (as root it installs a systemd service):')
      print()
      print(`  ${key.installCommand}`)
      print()
    }
    if (type === 'agent') {
      print(str(key.installCommand) ? 'Or set it up by hand:' : 'Use it on a node:')
      print(`  thresh agent config set midtier-url ${client.url}`)
      print('  thresh agent config set api-key <key>')
      if (fingerprint) print(`  thresh agent config set hub-fingerprint ${fingerprint}`)
    } else print(`Use it for a mid-tier: thresh run --role midtier --hub-url ${client.url}${pin} --api-key-file <file holding the key> --advertise <its names>`)
  },
})

const revoke = defineCommand({
  meta: { name: 'revoke', description: 'Revoke a key now; its open connections are closed' },
  args: { key: { type: 'positional', description: 'key id, id prefix or name', required: true }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const key = await findKey(client, args.key)
    const answer = await client.delete(`/api/keys/${seg(String(key.id))}`)
    if (args.json) return printJson(answer ?? { id: key.id, revoked: true })
    print(`✓ Revoked ${key.type ?? ''} key ${key.name ?? ''} (id ${String(key.id).slice(0, 8)}).`.replace(/ {2,}/g, ' '))
  },
})

const rotate = defineCommand({
  meta: { name: 'rotate', description: 'Replace a key; the old one stays valid for a grace period' },
  args: { key: { type: 'positional', description: 'key id, id prefix or name', required: true }, ...hubArgs, ...jsonArg },
  async run({ args }) {
    const client = createHubClient(args)
    const old = await findKey(client, args.key)
    const fresh = await client.post<Key>(`/api/keys/${seg(String(old.id))}/rotate`)
    if (args.json) return printJson(fresh)
    if (!str(fresh?.key)) throw new ThreshError({ code: 'hub_answer_invalid', message: 'The hub rotated the key but did not return the new one.' })
    showSecret(fresh, `Rotated key ${old.name ?? ''} (new id ${String(fresh.id ?? '?').slice(0, 8)}).`.replace(/ {2,}/g, ' '))
    const grace = str(fresh.previousKeyExpiresAt) ?? str(fresh.oldKeyExpiresAt)
    print(grace ? `The old key keeps working until ${grace}.` : 'The old key keeps working for the grace period, then stops.')
  },
})

export default defineCommand({
  meta: { name: 'keys', description: 'Create, list, revoke and rotate agent and mid-tier keys' },
  subCommands: { list, create, revoke, rotate },
})
