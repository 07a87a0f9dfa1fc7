// A fleet with TLS on everywhere and trust by pins only: a hub with its fleet CA, a mid-tier whose
// certificate the hub signed (--advertise), two agents (one through the mid-tier, one straight to the
// hub) and the CLI, each given the fleet CA's fingerprint. No --insecure, no tls-verify false and no
// NODE_EXTRA_CA_CERTS anywhere. Then what a client says for a wrong pin, a foreign CA, an expired
// certificate and a certificate for another host name.
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer, get, type Server } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureFleetCa, issueServingCert } from '../../lib/tls.ts'
import { thresh, type CliResult } from '../cli/cli.ts'
import { eventually } from '../support/fleet.ts'
import { freePort, spawnThresh, tempHome, waitForOutput, type ThreshProcess } from '../support/process.ts'

const password = `pw-${randomBytes(8).toString('hex')}`
const procs: ThreshProcess[] = []
const servers: Server[] = []
const cliHome = tempHome('thresh-tls-cli-')
const cli = (args: string[], stdin?: string) => thresh(args, { THRESH_HOME: cliHome, NODE_EXTRA_CA_CERTS: undefined }, stdin ? { stdin } : {})
/** The CLI against an impostor: a token so the command gets as far as the TLS handshake. */
const cliAt = (url: string, pin?: string) =>
  thresh(['node', 'list', '--hub', url, ...(pin ? ['--fingerprint', pin] : [])], { THRESH_HOME: tempHome(), THRESH_CLI_TOKEN: 'thresh_cli_x_0123456789abcdef' })
let hubHome: string
let hubUrl: string
let fingerprint: string

function ok(result: CliResult): CliResult {
  expect(result.code, result.stdout + result.stderr).toBe(0)
  return result
}

function failed(result: CliResult): string {
  expect(result.code, result.stdout + result.stderr).not.toBe(0)
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1)
  return result.stderr.trim()
}

function start(args: string[], env: Record<string, string>): ThreshProcess {
  const proc = spawnThresh('node', args, { ...env, NODE_EXTRA_CA_CERTS: '' })
  procs.push(proc)
  return proc
}

async function createKey(type: 'agent' | 'midtier', name: string): Promise<{ key: string; caFingerprint: string }> {
  return JSON.parse(ok(await cli(['keys', 'create', '--type', type, '--name', name, '--json'])).stdout)
}

/** An agent home configured with `thresh agent config set`, as a user does, then the agent itself. */
async function startAgent(url: string, key: string, nodeName: string, pin: string): Promise<{ proc: ThreshProcess; home: string }> {
  const home = tempHome('thresh-tls-agent-')
  for (const [name, value] of [['midtier-url', url], ['api-key', key], ['hub-fingerprint', pin], ['node-name', nodeName], ['reconnect-delay', '500ms']]) {
    ok(await thresh(['agent', 'config', 'set', name!, value!], { THRESH_HOME: home }))
  }
  return { proc: start(['run', '--role', 'agent', '--port', '0'], { THRESH_HOME: home }), home }
}

/** An HTTPS server answering every request with `{}`: a hub impostor with a certificate of the test's choosing. */
async function serve(tls: { cert: string; key: string }): Promise<string> {
  const server = createServer(tls, (_req, res) => res.end('{}'))
  servers.push(server)
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return `https://127.0.0.1:${port}`
}

beforeAll(async () => {
  hubHome = tempHome('thresh-tls-hub-')
  const port = await freePort()
  hubUrl = `https://127.0.0.1:${port}`
  const hub = start(['run', '--role', 'hub', '--host', '127.0.0.1', '--port', String(port), '--storage', 'memory', '--offline-after', '3s'], {
    THRESH_HOME: hubHome,
    THRESH_ADMIN_PASSWORD: password,
  })
  await waitForOutput(hub, 'Fleet CA fingerprint: ', 60_000)
  fingerprint = /Fleet CA fingerprint: (sha256:[0-9a-f]{64})/.exec(hub.output())![1]!
  ok(await cli(['auth', 'login', '--hub', hubUrl, '--fingerprint', fingerprint, '--username', 'admin', '--password-stdin'], password))
}, 90_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  for (const server of servers) server.close()
})

describe('a fleet trusted by pins', () => {
  it('the fingerprint the hub prints is sha256 over the DER of the CA it serves at /install/ca.pem', async () => {
    const ca = await ensureFleetCa(hubHome)
    expect(ca.fingerprint).toBe(fingerprint)
    const served = await new Promise<string>((resolve, reject) => {
      const req = get(`${hubUrl}/install/ca.pem`, { ca: ca.cert }, (res) => {
        let text = ''
        res.on('data', (c) => (text += c)).on('end', () => resolve(text))
      })
      req.on('error', reject)
    })
    expect(served.trim()).toBe(ca.cert.trim())
    const der = Buffer.from(served.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
    expect(`sha256:${createHash('sha256').update(der).digest('hex')}`).toBe(fingerprint)
  })

  it('hub, mid-tier and two agents connect with TLS verified against the pinned fleet CA', async () => {
    const midKey = await createKey('midtier', 'tls-mid')
    expect(midKey.caFingerprint).toBe(fingerprint)
    const midHome = tempHome('thresh-tls-mid-')
    const keyFile = join(midHome, 'mid.key')
    writeFileSync(keyFile, midKey.key, { mode: 0o600 })
    const midPort = await freePort()
    const mid = start(
      ['run', '--role', 'midtier', '--host', '127.0.0.1', '--port', String(midPort), '--hub-url', hubUrl, '--hub-fingerprint', fingerprint, '--api-key-file', keyFile, '--advertise', 'mid.thresh.test,127.0.0.1'],
      { THRESH_HOME: midHome, THRESH_BATCH_INTERVAL: '300ms' },
    )
    await waitForOutput(mid, 'Got a certificate from the hub', 60_000)
    await waitForOutput(mid, 'Connected to the hub', 60_000)

    const viaMid = `tls-mid-node-${randomBytes(3).toString('hex')}`
    const direct = `tls-hub-node-${randomBytes(3).toString('hex')}`
    const [a1, a2] = [await createKey('agent', 'tls-a1'), await createKey('agent', 'tls-a2')]
    const one = await startAgent(`https://localhost:${midPort}`, a1.key, viaMid, fingerprint)
    const two = await startAgent(hubUrl, a2.key, direct, fingerprint)
    await waitForOutput(one.proc, `Connected to https://localhost:${midPort}`, 60_000)
    await waitForOutput(two.proc, `Connected to ${hubUrl}`, 60_000)

    await eventually('both nodes online', async () => {
      const nodes = JSON.parse(ok(await cli(['node', 'list', '--json'])).stdout) as Array<{ name?: string; hostname?: string; status: string }>
      const online = (name: string) => nodes.some((n) => (n.name === name || n.hostname === name) && n.status === 'online')
      return online(viaMid) && online(direct)
    }, 30_000, 500)
    for (const proc of procs) expect(proc.output()).not.toMatch(/insecure|tls-verify false|NODE_EXTRA_CA_CERTS/i)
  }, 120_000)

  it('a mid-tier given a wrong pin refuses the hub with a sentence naming both fingerprints', async () => {
    const midKey = await createKey('midtier', 'tls-mid-wrong')
    const midHome = tempHome('thresh-tls-mid-wrong-')
    const keyFile = join(midHome, 'mid.key')
    writeFileSync(keyFile, midKey.key, { mode: 0o600 })
    const wrong = `sha256:${'0f'.repeat(32)}`
    const mid = start(['run', '--role', 'midtier', '--host', '127.0.0.1', '--port', String(await freePort()), '--hub-url', hubUrl, '--hub-fingerprint', wrong, '--api-key-file', keyFile], { THRESH_HOME: midHome })
    await waitForOutput(mid, 'Wrong fingerprint', 60_000)
    expect(mid.output()).toContain(`presents a certificate from CA ${fingerprint}, but this client is pinned to ${wrong}`)
    expect(mid.output()).toContain(`--hub-fingerprint ${fingerprint}`)
  }, 90_000)
})

describe('certificates a pinned client refuses, each with its cause', () => {
  it('a foreign CA: wrong fingerprint, naming both; unpinned: an unknown CA with the command that pins it', async () => {
    const foreign = await ensureFleetCa(tempHome('thresh-foreign-ca-'))
    const url = await serve(await issueServingCert(foreign, ['127.0.0.1', 'localhost']))
    const pinned = failed(await cliAt(url, fingerprint))
    expect(pinned).toContain(`Wrong fingerprint: the hub at ${url} presents a certificate from CA ${foreign.fingerprint}, but this client is pinned to ${fingerprint}`)
    const unpinned = failed(await cliAt(url))
    expect(unpinned).toContain(`presents a certificate from an unknown CA (${foreign.fingerprint})`)
    expect(unpinned).toContain(`thresh auth login --hub ${url} --fingerprint ${foreign.fingerprint}`)
  })

  it('an expired certificate from the pinned CA', async () => {
    const ca = await ensureFleetCa(hubHome)
    const url = await serve(await issueServingCert(ca, ['127.0.0.1'], { notBefore: new Date(Date.now() - 10 * 86_400_000), days: 2 }))
    const message = failed(await cliAt(url, fingerprint))
    expect(message).toMatch(new RegExp(`The certificate of the hub at ${url.replace(/\./g, '\\.')} expired on \\d{4}-\\d\\d-\\d\\dT.*restart the hub`))
  })

  it('a certificate for another host name', async () => {
    const ca = await ensureFleetCa(hubHome)
    const url = await serve(await issueServingCert(ca, ['elsewhere.thresh.test']))
    const message = failed(await cliAt(url, fingerprint))
    expect(message).toContain('Host name mismatch: the certificate of the hub at')
    expect(message).toContain('is for elsewhere.thresh.test, not 127.0.0.1')
    expect(message).toContain('--advertise 127.0.0.1')
  })

  it('an agent pinned to the fleet CA refuses a self-signed server, and says so in its status', async () => {
    const { generate } = await import('selfsigned')
    const self = await generate([{ name: 'commonName', value: 'impostor' }], { keySize: 2048, algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] } as never)
    const url = await serve({ cert: self.cert, key: self.private })
    const agent = await startAgent(url, `thresh_live_x_${'a'.repeat(32)}`, 'impostor-node', fingerprint)
    await waitForOutput(agent.proc, 'Wrong fingerprint', 60_000)
    expect(agent.proc.output()).toContain(`but this client is pinned to ${fingerprint}`)
  }, 90_000)
})
