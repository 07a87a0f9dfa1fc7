// Add a node with one command (issue #12): the hub serves the install script and the single-file
// agent, and the command printed with a new agent key, run on a "node" (a temporary THRESH_PREFIX),
// leaves an agent that is online on the hub; run twice it is the same node, restarted in place; with a
// revoked key it fails with the hub's reason.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tlsFetch } from '../../lib/tls-fetch.ts'
import { ADMIN_PASSWORD, createHub, eventually, listNodes, type HubProcess } from '../support/fleet.ts'
import { installedAgentId, installedPid, pasteInstallCommand, stopInstalledAgent } from '../support/install.ts'
import { freePort, repoRoot, spawnThresh, tempHome, waitForOutput, type ThreshProcess } from '../support/process.ts'

let hub: HubProcess
let token: string
let tlsHub: ThreshProcess | undefined
const prefixes: string[] = []

beforeAll(async () => {
  // The artifact the hub hands out; `npm run build` (the test run's global setup) makes it.
  expect(existsSync(join(repoRoot, 'dist', 'thresh-agent.mjs')), 'dist/thresh-agent.mjs: run npm run build').toBe(true)
  hub = await createHub({ storage: 'memory' })
  token = await hub.login()
}, 120_000)

afterAll(async () => {
  for (const prefix of prefixes) stopInstalledAgent(prefix)
  await hub?.kill()
  await tlsHub?.stop('SIGKILL')
})

async function paste(command: string, prefix: string): Promise<{ code: number | null; output: string }> {
  prefixes.push(prefix)
  return pasteInstallCommand(command, prefix)
}

const agentId = installedAgentId
const pid = installedPid
const running = (p: number) => {
  try {
    process.kill(p, 0)
    return true
  } catch {
    return false
  }
}

describe('GET /install/agent.sh', () => {
  it('is served without a credential and holds no key', async () => {
    const response = await fetch(`${hub.url}/install/agent.sh`)
    expect(response.status).toBe(200)
    const script = await response.text()
    expect(script.startsWith('#!/bin/sh')).toBe(true)
    expect(script).not.toMatch(/thresh_live_[a-z0-9]+_[A-Za-z0-9]{16}/)
    const agent = await fetch(`${hub.url}/install/thresh-agent.mjs`)
    expect(agent.status).toBe(200)
    expect((await agent.arrayBuffer()).byteLength).toBe(readFileSync(join(repoRoot, 'dist', 'thresh-agent.mjs')).length)
    const unknown = await fetch(`${hub.url}/install/thresh-agent-plan9-mips`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: 'artifact_missing' })
  })
})

describe('install/agent.sh', () => {
  it('refuses a missing key, a key of the wrong kind and a malformed pin, naming the problem', async () => {
    const script = join(repoRoot, 'install', 'agent.sh')
    const prefix = tempHome('thresh-install-bad-')
    const withoutKey = await paste(`THRESH_API_KEY= sh '${script}' --hub ${hub.url}`, prefix)
    expect(withoutKey.code).not.toBe(0)
    expect(withoutKey.output).toContain('THRESH_API_KEY is missing')
    const midKey = await paste(`THRESH_API_KEY=thresh_mid_acct_0123456789abcdef0123 sh '${script}' --hub ${hub.url}`, prefix)
    expect(midKey.output).toContain('THRESH_API_KEY is not an agent key')
    const badPin = await paste(`THRESH_API_KEY=thresh_live_acct_0123456789abcdef0123 sh '${script}' --hub ${hub.url} --fingerprint md5:abc`, prefix)
    expect(badPin.output).toContain("--fingerprint must be sha256:<64 hex digits>, not 'md5:abc'")
    expect(existsSync(join(prefix, 'var'))).toBe(false)
  })
})

describe('the install command of a new agent key', () => {
  it('leaves an agent online on the hub; run twice it is the same node, restarted in place', async () => {
    const created = await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'one-command' } })
    expect(created.status).toBe(201)
    const command: string = created.body.installCommand
    expect(command).toContain(`${hub.url}/install/agent.sh`)
    expect(command).toContain(created.body.key)

    const prefix = tempHome('thresh-install-')
    const first = await paste(command, prefix)
    expect(first.code, first.output).toBe(0)
    expect(first.output).toContain('the agent is online')
    const id = agentId(prefix)
    await eventually('the node online', async () => (await listNodes(hub, token)).find((n) => n.id === id && n.status === 'online'))
    const config = JSON.parse(readFileSync(join(prefix, 'var/lib/thresh/agent.json'), 'utf8'))
    expect(config).toMatchObject({ midtierUrl: hub.url, apiKey: created.body.key })
    const firstPid = pid(prefix)

    const second = await paste(command, prefix)
    expect(second.code, second.output).toBe(0)
    expect(agentId(prefix)).toBe(id)
    expect(running(firstPid)).toBe(false)
    expect(running(pid(prefix))).toBe(true)
    const nodes = await eventually('the node online again', async () => {
      const all = (await listNodes(hub, token)).filter((n) => n.id === id)
      return all.length === 1 && all[0]!.status === 'online' ? all : undefined
    })
    expect(nodes).toHaveLength(1)
  }, 180_000)

  it('fails with the reason when the key was revoked', async () => {
    const created = await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'revoked-one' } })
    expect((await hub.request('DELETE', `/api/keys/${created.body.id}`, { token })).status).toBe(200)
    const prefix = tempHome('thresh-install-revoked-')
    const result = await paste(created.body.installCommand, prefix)
    expect(result.code, result.output).not.toBe(0)
    expect(result.output).toMatch(/refused the agent key \(401\).*revoked/i)
    // Not left retrying with a key that cannot work.
    expect(existsSync(join(prefix, 'var/lib/thresh/agent.pid'))).toBe(false)
  }, 120_000)
})

describe('the install command of a hub serving TLS with its fleet CA', () => {
  it('checks the CA against the pin, trusts only it, and leaves an agent pinned to it online; a wrong pin installs nothing', async () => {
    const home = tempHome('thresh-install-tls-hub-')
    const port = await freePort()
    tlsHub = spawnThresh('node', ['run', '--role', 'hub', '--host', '127.0.0.1', '--port', String(port), '--storage', 'memory'], { THRESH_HOME: home, THRESH_ADMIN_PASSWORD: ADMIN_PASSWORD })
    await waitForOutput(tlsHub, 'Fleet CA fingerprint: ', 60_000)
    const fingerprint = /Fleet CA fingerprint: (sha256:[0-9a-f]{64})/.exec(tlsHub.output())![1]!
    const url = `https://127.0.0.1:${port}`
    const pinned = tlsFetch({ rejectUnauthorized: true, ca: readFileSync(join(home, 'tls', 'ca.pem'), 'utf8') })
    const call = async (method: string, path: string, body?: unknown, bearer?: string) => {
      const response = await pinned(url + path, {
        method,
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
      return { status: response.status, body: (await response.json()) as any }
    }
    const admin = (await call('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).body.accessToken as string
    const created = await call('POST', '/api/keys', { type: 'agent', name: 'tls-one-command' }, admin)
    const command: string = created.body.installCommand
    expect(command).toContain(`curl -fsSk '${url}/install/ca.pem'`)
    expect(command).toContain(`--cacert "$d/ca.pem" '${url}/install/agent.sh'`)
    expect(command).toContain(`--fingerprint ${fingerprint}`)

    const wrong = tempHome('thresh-install-wrong-pin-')
    const refused = await paste(command.replaceAll(fingerprint.slice(7), 'ab'.repeat(32)), wrong)
    expect(refused.code).not.toBe(0)
    expect(refused.output).toContain(`the hub's CA is not sha256:${'ab'.repeat(32)}: not installing`)
    expect(existsSync(join(wrong, 'var/lib/thresh'))).toBe(false)

    const prefix = tempHome('thresh-install-tls-')
    const result = await paste(command, prefix)
    expect(result.code, result.output).toBe(0)
    const config = JSON.parse(readFileSync(join(prefix, 'var/lib/thresh/agent.json'), 'utf8'))
    expect(config).toMatchObject({ midtierUrl: url, hubFingerprint: fingerprint })
    expect(config.tlsVerify).toBeUndefined()
    const id = agentId(prefix)
    await eventually('the pinned node online', async () => ((await call('GET', '/api/nodes', undefined, admin)).body.nodes ?? []).find((n: any) => n.id === id && n.status === 'online'))
  }, 180_000)
})
