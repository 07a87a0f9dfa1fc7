// The remote CLI against a real hub process: auth, keys, nodes, clusters and stacks through the REST
// API, with a test agent speaking the real protocol to the hub's /agenthub.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSignalRAgentClient, type AgentTransportClient } from '../../lib/agent-session/agent/index.ts'
import { freePort, repoRoot, spawnThresh, tempHome, waitForHttp, waitForOutput, type ThreshProcess } from '../support/process.ts'
import { requireTool } from '../support/require.ts'
import { thresh, type CliResult } from './cli.ts'
import { agentInfo } from '../support/agent-fixtures.ts'

const password = `pw-${randomBytes(8).toString('hex')}`
const hostname = `cli-node-${randomBytes(3).toString('hex')}`
let hub: ThreshProcess
let hubUrl: string
/** A CLI home logged in as admin, shared by the tests that only need a session. */
const home = tempHome('thresh-cli-')
const env = { THRESH_HOME: home }
let agent: AgentTransportClient | undefined
const commands: Array<{ tool: string; arguments: Record<string, unknown> }> = []

/** One clear sentence on stderr and a non-zero exit. */
function expectFailure(result: CliResult, text: string | RegExp): void {
  expect(result.code, result.stdout + result.stderr).not.toBe(0)
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1)
  expect(result.stderr).toMatch(text)
  expect(result.stderr).not.toMatch(/\n\s+at /)
}

function ok(result: CliResult): CliResult {
  expect(result.code, result.stdout + result.stderr).toBe(0)
  return result
}

async function login(cliHome: string): Promise<CliResult> {
  return thresh(['auth', 'login', '--hub', hubUrl, '--username', 'admin', '--password-stdin'], { THRESH_HOME: cliHome }, { stdin: `${password}\n` })
}

async function startAgent(apiKey: string): Promise<AgentTransportClient> {
  const client = createSignalRAgentClient({ url: hubUrl, apiKey, transports: ['WebSockets'], maxReconnectAttempts: 0 })
  const agentId = `agent-${randomBytes(6).toString('hex')}`
  client.onCommand(async (command) => {
    commands.push({ tool: command.tool, arguments: command.arguments })
    const args = command.arguments as { stackId?: string; services?: Array<{ name: string }>; service?: string }
    if (command.tool === 'deploy_stack' && String(command.arguments.stackName).startsWith('fail-')) {
      await client.sendStatusUpdate({ stackId: args.stackId!, serviceName: args.services![0]!.name, status: 'error', errorMessage: 'image not found' })
      return { success: false, error: `Service ${args.services![0]!.name} failed: image not found` }
    }
    if (command.tool === 'deploy_stack') {
      for (const svc of args.services ?? []) await client.sendStatusUpdate({ stackId: args.stackId!, serviceName: svc.name, status: 'running' })
      return { success: true, output: JSON.stringify({ status: 'running' }) }
    }
    if (command.tool === 'list_blueprints') return { success: true, output: 'devbox\nwebdev' }
    if (command.tool === 'create_environment') return { success: true, output: `Environment ${String(command.arguments.name)} created.` }
    return { success: true, output: '' }
  })
  await client.connect(agentInfo(agentId, { hostname, osVersion: 'test', cpuCores: 4, ramTotalGb: 8, diskTotalGb: 100 }))
  await client.sendMetrics({
    agentId,
    timestamp: new Date().toISOString(),
    cpuPercent: 42.5,
    cpuPerCore: [40, 45, 42, 43],
    memoryUsedMB: 4096,
    memoryTotalMB: 8192,
    diskUsedGB: 30,
    diskTotalGB: 100,
    disks: [{ mount: '/', usedGB: 30, totalGB: 100 }],
    containersRunning: 2,
    containers: [],
    environmentCount: 2,
    uptimeSeconds: 1000,
  })
  return client
}

beforeAll(async () => {
  const port = await freePort()
  hubUrl = `http://127.0.0.1:${port}`
  hub = spawnThresh('node', ['run', '--role', 'hub', '--no-tls', '--port', String(port), '--host', '127.0.0.1', '--storage', 'memory'], {
    THRESH_HOME: tempHome('thresh-hub-'),
    THRESH_ADMIN_PASSWORD: password,
  })
  await waitForHttp(`${hubUrl}/health`, hub)
  ok(await login(home))
})

afterAll(async () => {
  await agent?.close()
  await hub?.stop()
})

describe('thresh auth', () => {
  it('logs in with --username and --password-stdin, keeping the token in credentials.json (mode 600) and never printing it', async () => {
    const cliHome = tempHome()
    const result = ok(await login(cliHome))
    const path = join(cliHome, 'credentials.json')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const stored = JSON.parse(readFileSync(path, 'utf8'))
    expect(stored).toMatchObject({ hubUrl, userName: 'admin' })
    expect(stored.token).toMatch(/^thresh_cli_/)
    expect(result.stdout).toContain(`Logged in to ${hubUrl} as admin`)
    expect(result.stdout + result.stderr).not.toContain(stored.token)
  })

  it('a wrong password fails with the hub sentence and stores nothing', async () => {
    const cliHome = tempHome()
    const result = await thresh(['auth', 'login', '--hub', hubUrl, '--username', 'admin', '--password-stdin'], { THRESH_HOME: cliHome }, { stdin: 'wrong-password\n' })
    expectFailure(result, /^\[thresh\] /)
    expect(existsSync(join(cliHome, 'credentials.json'))).toBe(false)
  })

  it('status shows the hub, the user and a valid session; token prints the token for scripts', async () => {
    const status = ok(await thresh(['auth', 'status'], env))
    expect(status.stdout).toMatch(new RegExp(`Hub:\\s+${hubUrl}`))
    expect(status.stdout).toMatch(/User:\s+admin/)
    expect(status.stdout).toMatch(/Session:\s+valid/)
    const stored = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'))
    expect(status.stdout).not.toContain(stored.token)
    const json = JSON.parse(ok(await thresh(['auth', 'status', '--json'], env)).stdout)
    expect(json).toMatchObject({ loggedIn: true, hubUrl, userName: 'admin', session: 'valid', tokenSource: 'stored' })
    expect(ok(await thresh(['auth', 'token'], env)).stdout.trim()).toBe(stored.token)
  })

  it('logs in with --token, and THRESH_CLI_TOKEN overrides the stored token', async () => {
    const token = ok(await thresh(['auth', 'token'], env)).stdout.trim()
    const cliHome = tempHome()
    ok(await thresh(['auth', 'login', '--hub', hubUrl, '--token', token], { THRESH_HOME: cliHome }))
    expect(JSON.parse(readFileSync(join(cliHome, 'credentials.json'), 'utf8')).token).toBe(token)

    const bad = await thresh(['auth', 'login', '--hub', hubUrl, '--token', 'thresh_cli_abc_0000000000000000000000'], { THRESH_HOME: tempHome() })
    expectFailure(bad, /did not accept the credentials/)

    const overridden = await thresh(['keys', 'list'], { THRESH_HOME: home, THRESH_CLI_TOKEN: 'thresh_cli_abc_0000000000000000000000' })
    expectFailure(overridden, /did not accept the credentials.*THRESH_CLI_TOKEN/)
  })

  it('logout ends the session on the hub: the old token stops working', async () => {
    const cliHome = tempHome()
    ok(await login(cliHome))
    const token = JSON.parse(readFileSync(join(cliHome, 'credentials.json'), 'utf8')).token
    expect(ok(await thresh(['auth', 'logout'], { THRESH_HOME: cliHome })).stdout).toContain(`Logged out of ${hubUrl}`)
    expect(existsSync(join(cliHome, 'credentials.json'))).toBe(false)
    const after = await thresh(['auth', 'status', '--hub', hubUrl], { THRESH_HOME: cliHome, THRESH_CLI_TOKEN: token })
    expect(after.code).not.toBe(0)
    expect(after.stdout).toMatch(/Session:\s+rejected/)
    const tokenCmd = await thresh(['auth', 'token'], { THRESH_HOME: cliHome })
    expectFailure(tokenCmd, /Not logged in/)
  })
})

describe('where remote commands go', () => {
  it('THRESH_HUB_URL names the hub, and a missing login is one sentence saying how to log in', async () => {
    expectFailure(await thresh(['node', 'list'], { THRESH_HOME: tempHome(), THRESH_HUB_URL: hubUrl }), new RegExp(`Not logged in to ${hubUrl}: run thresh auth login`))
  })

  it('a stored token is never sent to another hub given with --hub', async () => {
    const other = `http://127.0.0.1:${await freePort()}`
    expectFailure(await thresh(['keys', 'list', '--hub', other], env), new RegExp(`Not logged in to ${other}`))
  })
})

describe('thresh keys', () => {
  it('creates an agent key shown once; list shows it without the secret; rotate and revoke change its status', async () => {
    const name = `edge-${randomBytes(3).toString('hex')}`
    const created = ok(await thresh(['keys', 'create', '--type', 'agent', '--name', name], env))
    const key = /thresh_live_[a-z0-9]+_[A-Za-z0-9]+/.exec(created.stdout)?.[0]
    expect(key).toBeDefined()
    expect(created.stdout).toContain('only time the key is shown')

    const list = ok(await thresh(['keys', 'list'], env))
    expect(list.stdout).toMatch(/^ID\s+NAME\s+TYPE\s+KEY\s+STATUS\s+CREATED$/m)
    expect(list.stdout).toMatch(new RegExp(`\\s${name}\\s+agent\\s+thresh_live_\\S+\\s+active\\s`))
    expect(list.stdout).not.toContain(key)

    const rotated = ok(await thresh(['keys', 'rotate', name], env))
    const fresh = /thresh_live_[a-z0-9]+_[A-Za-z0-9]+/.exec(rotated.stdout)?.[0]
    expect(fresh).toBeDefined()
    expect(fresh).not.toBe(key)
    expect(rotated.stdout).toMatch(/old key keeps working until/)

    const keys = JSON.parse(ok(await thresh(['keys', 'list', '--json'], env)).stdout) as Array<{ id: string; name: string; status: string }>
    const mine = keys.filter((k) => k.name === name)
    expect(mine.map((k) => k.status).sort()).toEqual(['active', 'expiring'])
    const active = mine.find((k) => k.status === 'active')!
    // After a rotation the name means the live key.
    expect(ok(await thresh(['keys', 'revoke', name], env)).stdout).toContain(`(id ${active.id.slice(0, 8)})`)
    const after = JSON.parse(ok(await thresh(['keys', 'list', '--json'], env)).stdout) as Array<{ id: string; status: string }>
    expect(after.find((k) => k.id === active.id)?.status).toBe('revoked')
  })

  it('keys create --json returns the key once for scripts; a bad type names the valid ones', async () => {
    const created = JSON.parse(ok(await thresh(['keys', 'create', '--type', 'midtier', '--name', 'mt', '--json'], env)).stdout)
    expect(created.key).toMatch(/^thresh_mid_/)
    expectFailure(await thresh(['keys', 'create', '--type', 'admin'], env), /valid types: agent, midtier/)
  })

  it('an unknown key id is one sentence', async () => {
    expectFailure(await thresh(['keys', 'revoke', 'zzzz-no-such-key'], env), /No key named 'zzzz-no-such-key'/)
  })
})

describe('with a connected agent', () => {
  beforeAll(async () => {
    const created = JSON.parse(ok(await thresh(['keys', 'create', '--type', 'agent', '--name', 'cli-agent', '--json'], env)).stdout)
    agent = await startAgent(created.key)
    // The node shows up once the hub has processed the registration and the first metrics.
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const nodes = JSON.parse((await thresh(['node', 'list', '--json'], env)).stdout || '[]') as Array<{ hostname: string; cpuPercent: number }>
      if (nodes.some((n) => n.hostname === hostname && n.cpuPercent > 0)) return
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error(`node ${hostname} never appeared`)
  })

  it('node list shows the original columns and the online count', async () => {
    const result = ok(await thresh(['node', 'list'], env))
    expect(result.stdout).toMatch(/^HOSTNAME\s+PLATFORM\s+STATUS\s+IP\s+CPU\s+RAM \(GB\)\s+DISK\s+ENVS\s+LAST SEEN$/m)
    expect(result.stdout).toMatch(new RegExp(`^${hostname}\\s+linux\\s+online\\s+127\\.0\\.0\\.1\\s+42\\.5%\\s+4/8\\s+100G\\s+2\\s+\\d+s ago$`, 'm'))
    expect(result.stdout).toMatch(/^1 node\(s\) • 1 online$/m)
  })

  it('node info and metrics accept a hostname or an id prefix', async () => {
    const [node] = JSON.parse(ok(await thresh(['node', 'list', '--json'], env)).stdout) as Array<{ id: string }>
    const info = ok(await thresh(['node', 'info', hostname], env))
    expect(info.stdout).toMatch(new RegExp(`Hostname:\\s+${hostname}`))
    expect(info.stdout).toMatch(/CPU:\s+4 cores, 42\.5% used/)
    const byPrefix = ok(await thresh(['node', 'info', node!.id.slice(0, 6), '--json'], env))
    expect(JSON.parse(byPrefix.stdout)).toMatchObject({ hostname })
    const metrics = ok(await thresh(['node', 'metrics', hostname], env))
    expect(metrics.stdout).toMatch(/CPU\s+\[█+░+\] 42\.5%/)
    expect(metrics.stdout).toMatch(/Memory\s+\[█+░+\] 50%\s+4 \/ 8 GB/)
    expectFailure(await thresh(['node', 'info', 'no-such-node'], env), /No node named 'no-such-node'/)
  })

  it('node blueprints and node up run through the agent', async () => {
    const blueprints = ok(await thresh(['node', 'blueprints', hostname], env))
    expect(blueprints.stdout).toContain('devbox')
    const up = ok(await thresh(['node', 'up', hostname, 'devbox', '--name', 'dev1'], env))
    expect(up.stdout).toContain('Environment dev1 created.')
    expect(commands.find((c) => c.tool === 'create_environment')?.arguments).toMatchObject({ blueprint: 'devbox', name: 'dev1' })
  })

  it('clusters: create, add a node, info lists it, list counts it, delete keeps the node', async () => {
    const name = `c-${randomBytes(3).toString('hex')}`
    ok(await thresh(['cluster', 'create', name, '--description', 'CLI test cluster'], env))
    ok(await thresh(['cluster', 'add-node', name, hostname], env))
    const list = ok(await thresh(['cluster', 'list'], env))
    expect(list.stdout).toMatch(/^NAME\s+DESCRIPTION\s+NODES\s+CREATED$/m)
    expect(list.stdout).toMatch(new RegExp(`^${name}\\s+CLI test cluster\\s+1\\s+\\d+s$`, 'm'))
    const info = ok(await thresh(['cluster', 'info', name], env))
    expect(info.stdout).toContain(hostname)
    ok(await thresh(['cluster', 'remove-node', name, hostname], env))
    expect(JSON.parse(ok(await thresh(['cluster', 'info', name, '--json'], env)).stdout).nodes ?? []).toHaveLength(0)
    expectFailure(await thresh(['cluster', 'delete', name], env), /pass --force/)
    ok(await thresh(['cluster', 'delete', name, '--force'], env))
    expectFailure(await thresh(['cluster', 'info', name], env), /^\[thresh\] .+/)
    expect(ok(await thresh(['node', 'list'], env)).stdout).toContain(hostname)
  })

  it('stack up --hub deploys to the chosen node and follows it to running; list, info, update, stop, start and destroy go through the hub', async () => {
    const name = `web-${randomBytes(3).toString('hex')}`
    const file = join(tempHome(), 'stack.json')
    writeFileSync(file, JSON.stringify({ name, services: { api: { image: 'docker:nginx:alpine', ports: ['8080:80'] }, db: { image: 'postgres:16-alpine' } } }))
    const up = ok(await thresh(['stack', 'up', file, '--node', hostname], env))
    expect(up.stdout).toContain(`Deploying stack ${name}`)
    expect(up.stdout).toMatch(new RegExp(`Node: ${hostname}`))
    expect(up.stdout).toContain(`Stack ${name} is running`)
    expect(commands.find((c) => c.tool === 'deploy_stack' && c.arguments.stackName === name)).toBeDefined()

    const list = ok(await thresh(['stack', 'list'], env))
    expect(list.stdout).toMatch(/^NAME\s+STATUS\s+NODE\s+SVCS\s+AGE$/m)
    expect(list.stdout).toMatch(new RegExp(`^${name}\\s+running\\s+${hostname}\\s+2/2\\s+\\d+s$`, 'm'))
    const info = ok(await thresh(['stack', 'info', name], env))
    expect(info.stdout).toMatch(/^NAME\s+IMAGE\s+STATUS\s+PORTS$/m)
    expect(info.stdout).toMatch(/^api\s+\S*nginx:alpine\s+running\s+8080:80$/m)

    ok(await thresh(['stack', 'update', name, '--service', 'api', '--image', 'nginx:1.27-alpine'], env))
    expect(commands.find((c) => c.tool === 'update_service')?.arguments).toMatchObject({ service: 'api', image: 'nginx:1.27-alpine' })
    ok(await thresh(['stack', 'stop', name], env))
    ok(await thresh(['stack', 'start', name], env))
    ok(await thresh(['stack', 'destroy', name, '--yes'], env))
    expect(commands.map((c) => c.tool)).toEqual(expect.arrayContaining(['stop_stack', 'start_stack', 'destroy_stack']))
    expectFailure(await thresh(['stack', 'info', name], env), /^\[thresh\] .+/)
  })

  it('stack up --cluster deploys to a node of that cluster', async () => {
    const cluster = `c-${randomBytes(3).toString('hex')}`
    const name = `cl-${randomBytes(3).toString('hex')}`
    ok(await thresh(['cluster', 'create', cluster], env))
    ok(await thresh(['cluster', 'add-node', cluster, hostname], env))
    const file = join(tempHome(), 'stack.json')
    writeFileSync(file, JSON.stringify({ name, services: [{ name: 'one', image: 'busybox:1' }] }))
    const up = JSON.parse(ok(await thresh(['stack', 'up', file, '--cluster', cluster, '--json'], env)).stdout)
    expect(up).toMatchObject({ name, status: 'running', node: hostname })
    ok(await thresh(['stack', 'destroy', name, '--yes'], env))
    ok(await thresh(['cluster', 'delete', cluster, '--force'], env))
  })

  it('a deploy the node cannot carry out shows the failed service and fails with the reason', async () => {
    const name = `fail-${randomBytes(3).toString('hex')}`
    const file = join(tempHome(), 'stack.json')
    writeFileSync(file, JSON.stringify({ name, services: [{ name: 'api', image: 'no-such/image:1' }] }))
    const result = await thresh(['stack', 'up', file, '--node', hostname], env)
    expect(result.code).not.toBe(0)
    expect(result.stdout).toMatch(/✗ api\s+error \(image not found\)/)
    expect(result.stderr).toMatch(/^\[thresh\] .*image not found/)
    expect(ok(await thresh(['stack', 'list'], env)).stdout).toMatch(new RegExp(`^${name}\\s+error\\s`, 'm'))
  })

  it('node remove asks first (refusing without a terminal) and with --force forgets the node', async () => {
    expectFailure(await thresh(['node', 'remove', hostname], env), /needs confirmation; pass --force/)
    expect(ok(await thresh(['node', 'remove', hostname, '--force'], env)).stdout).toContain(`Removed node ${hostname}`)
    expect(ok(await thresh(['node', 'list'], env)).stdout).not.toContain(hostname)
  })

  it('stack up --hub refuses an invalid file before asking the hub, listing every problem', async () => {
    const file = join(tempHome(), 'bad.json')
    writeFileSync(file, JSON.stringify({ name: 'bad', services: { a: { image: 'x', depends_on: ['b'] }, b: { image: 'y', depends_on: ['a'] } } }))
    const result = await thresh(['stack', 'up', file], env)
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('Circular dependency detected')
  })
})

describe('a hub serving HTTPS with a certificate from its own fleet CA', () => {
  let tlsHub: ThreshProcess
  let url: string
  let fingerprint: string
  beforeAll(async () => {
    const port = await freePort()
    url = `https://127.0.0.1:${port}`
    tlsHub = spawnThresh('node', ['run', '--role', 'hub', '--port', String(port), '--host', '127.0.0.1', '--storage', 'memory'], {
      THRESH_HOME: tempHome('thresh-hub-tls-'),
      THRESH_ADMIN_PASSWORD: password,
    })
    await waitForOutput(tlsHub, 'Fleet CA fingerprint: ')
    fingerprint = /Fleet CA fingerprint: (sha256:[0-9a-f]{64})/.exec(tlsHub.output())![1]!
  })
  afterAll(async () => {
    await tlsHub?.stop()
  })

  it('without a pin and a terminal, login refuses before any password with the exact command; with it, every later command trusts the hub', async () => {
    const cliHome = tempHome()
    const refused = await thresh(['auth', 'login', '--hub', url, '--username', 'admin', '--password-stdin'], { THRESH_HOME: cliHome }, { stdin: password })
    expectFailure(refused, new RegExp(`does not trust yet.*then run: thresh auth login --hub ${url.replace(/[.]/g, '\\.')} --fingerprint ${fingerprint}$`, 'm'))
    ok(await thresh(['auth', 'login', '--hub', url, '--username', 'admin', '--password-stdin', '--fingerprint', fingerprint], { THRESH_HOME: cliHome }, { stdin: password }))
    expect(ok(await thresh(['node', 'list'], { THRESH_HOME: cliHome })).stdout).toContain('No nodes yet')
    expect(ok(await thresh(['auth', 'status'], { THRESH_HOME: cliHome })).stdout).toMatch(new RegExp(`TLS:\\s+verified, CA pinned ${fingerprint}`))
    // The pin outlives a logout, as a known_hosts entry does.
    ok(await thresh(['auth', 'logout'], { THRESH_HOME: cliHome }))
    ok(await thresh(['auth', 'login', '--hub', url, '--username', 'admin', '--password-stdin'], { THRESH_HOME: cliHome }, { stdin: password }))
  })

  it('on a terminal without a pin, shows the fingerprint before asking the password, asks to trust it, and keeps the pin', async () => {
    requireTool('script')
    // A real terminal (a pty through script(1)); each answer is typed once its question is on screen.
    const atTerminal = (answers: Array<[string, string]>, cliHome: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('script', ['-qfec', `${process.execPath} ${join(repoRoot, 'bin/thresh.mjs')} auth login --hub ${url} --username admin`, '/dev/null'], {
          env: { ...process.env, THRESH_HOME: cliHome, NO_COLOR: '1' },
          stdio: ['pipe', 'pipe', 'pipe'],
        })
        let out = ''
        let next = 0
        child.stdout.on('data', (chunk) => {
          out += chunk
          while (next < answers.length && out.includes(answers[next]![0])) child.stdin.write(`${answers[next++]![1]}\r`)
        })
        const timer = setTimeout(() => child.kill(), 30_000)
        child.on('exit', (code) => {
          clearTimeout(timer)
          resolve({ code, out })
        })
      })
    const declinedHome = tempHome()
    const declined = await atTerminal([['[y/N]', 'n']], declinedHome)
    expect(declined.code).not.toBe(0)
    expect(declined.out).toContain(fingerprint)
    expect(declined.out).not.toContain('Password:')
    expect(existsSync(join(declinedHome, 'credentials.json'))).toBe(false)

    const cliHome = tempHome()
    const trusted = await atTerminal([['[y/N]', 'y'], ['Password:', password]], cliHome)
    expect(trusted.code, trusted.out).toBe(0)
    expect(trusted.out.indexOf(fingerprint)).toBeGreaterThan(-1)
    expect(trusted.out.indexOf(fingerprint)).toBeLessThan(trusted.out.indexOf('Password:'))
    expect(JSON.parse(readFileSync(join(cliHome, 'credentials.json'), 'utf8')).pins).toEqual({ [url]: fingerprint })
    expect(ok(await thresh(['node', 'list'], { THRESH_HOME: cliHome })).stdout).toContain('No nodes yet')
  })

  it('a wrong pin is refused with a sentence naming both fingerprints', async () => {
    const wrong = `sha256:${'ab'.repeat(32)}`
    const refused = await thresh(['auth', 'login', '--hub', url, '--username', 'admin', '--password-stdin', '--fingerprint', wrong], { THRESH_HOME: tempHome() }, { stdin: password })
    expectFailure(refused, /Wrong fingerprint/)
    expect(refused.stderr).toContain(`presents a certificate from CA ${fingerprint}, but this client is pinned to ${wrong}`)
  })

  it('keys create prints the fingerprint the node pins', async () => {
    const cliHome = tempHome()
    ok(await thresh(['auth', 'login', '--hub', url, '--username', 'admin', '--password-stdin', '--fingerprint', fingerprint], { THRESH_HOME: cliHome }, { stdin: password }))
    const created = ok(await thresh(['keys', 'create', '--type', 'agent', '--name', 'pinned-node'], { THRESH_HOME: cliHome }))
    expect(created.stdout).toContain(`thresh agent config set hub-fingerprint ${fingerprint}`)
    expect(JSON.parse(ok(await thresh(['keys', 'create', '--type', 'agent', '--name', 'pinned-node-2', '--json'], { THRESH_HOME: cliHome })).stdout).caFingerprint).toBe(fingerprint)
  })

  it('--insecure stays an escape hatch, remembered for that hub', async () => {
    const cliHome = tempHome()
    ok(await thresh(['auth', 'login', '--hub', url, '--username', 'admin', '--password-stdin', '--insecure'], { THRESH_HOME: cliHome }, { stdin: password }))
    expect(ok(await thresh(['auth', 'status'], { THRESH_HOME: cliHome })).stdout).toMatch(/TLS:\s+not verified/)
  })
})

describe('on Deno', () => {
  it('the same remote commands work: login with --password-stdin, keys and nodes', async () => {
    requireTool('deno')
    const cliHome = tempHome()
    const login = await thresh(['auth', 'login', '--hub', hubUrl, '--username', 'admin', '--password-stdin'], { THRESH_HOME: cliHome }, { stdin: password, runtime: 'deno' })
    ok(login)
    expect(statSync(join(cliHome, 'credentials.json')).mode & 0o777).toBe(0o600)
    const nodes = JSON.parse(ok(await thresh(['node', 'list', '--json'], { THRESH_HOME: cliHome }, { runtime: 'deno' })).stdout)
    expect(Array.isArray(nodes)).toBe(true)
    const keys = ok(await thresh(['keys', 'list'], { THRESH_HOME: cliHome }, { runtime: 'deno' }))
    expect(keys.stdout).toMatch(/^ID\s+NAME\s+TYPE\s+KEY\s+STATUS\s+CREATED$/m)
  })
})
