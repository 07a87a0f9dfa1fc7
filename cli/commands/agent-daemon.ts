// `thresh agent start|stop|status|failover|failback`: the agent as a background process (pidfile and
// log file in THRESH_HOME) and the live state of that process, read from its status endpoint (a Unix
// socket in THRESH_HOME, or a loopback port with --status-port). `start` returns once the agent is
// connected, or fails after a bounded wait with the reason; `status` exits non-zero unless connected.
import { spawn } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import process from 'node:process'
import { defineCommand } from 'citty'
import { loadRuntime } from '../../adapters/index.ts'
import { startRole } from '../../roles/start-role.ts'
import { describeError, ThreshError } from '../../core/index.ts'
import { threshHome } from '../credentials.ts'
import { fail } from '../fail.ts'
import { jsonArg } from '../hub-client.ts'
import { age, ago, print, printJson } from '../table.ts'

const RUNTIME_FILE = 'agent.runtime.json'
const paths = () => {
  const home = threshHome()
  return { home, pid: join(home, 'agent.pid'), log: join(home, 'agent.log'), runtime: join(home, RUNTIME_FILE) }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid of the running agent, or undefined (a stale pidfile is removed). */
export function runningPid(): number | undefined {
  const { pid: file } = paths()
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8').trim())
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) return pid
  rmSync(file, { force: true })
  return undefined
}

function claimPidfile(pid: number): void {
  const existing = runningPid()
  if (existing !== undefined && existing !== pid) {
    throw new ThreshError({ code: 'agent_running', message: `The agent is already running (pid ${existing}); stop it first with thresh agent stop.` })
  }
  mkdirSync(paths().home, { recursive: true, mode: 0o700 })
  writeFileSync(paths().pid, `${pid}\n`)
}

interface RuntimeFile {
  pid: number
  url: string
}

function runtimeFile(): RuntimeFile | undefined {
  try {
    return JSON.parse(readFileSync(paths().runtime, 'utf8')) as RuntimeFile
  } catch {
    return undefined
  }
}

type Status = Record<string, unknown> & { state: string; reason: string | null; target: string; transport: string | null }

async function agentRequest(method: 'GET' | 'POST', path: string): Promise<Status> {
  const pid = runningPid()
  const file = runtimeFile()
  if (pid === undefined || !file || file.pid !== pid) {
    throw new ThreshError({ code: 'agent_not_running', message: 'The agent is not running; start it with thresh agent start.' })
  }
  let response: { status: number; text: string }
  try {
    response = await localRequest(file.url, method, path)
  } catch (cause) {
    throw new ThreshError({ code: 'agent_unreachable', message: `The agent (pid ${pid}) does not answer at ${file.url}: ${(cause as Error).message}`, cause })
  }
  let body: Status & { message?: string }
  try {
    body = JSON.parse(response.text) as typeof body
  } catch {
    body = {} as typeof body
  }
  if (response.status >= 400) throw new ThreshError({ code: 'agent_refused', message: body.message ?? `The agent answered ${response.status}.` })
  return body
}

/** One request to the agent's status endpoint: `unix:/path/agent.sock` or `http://127.0.0.1:PORT`. */
function localRequest(url: string, method: 'GET' | 'POST', path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socketPath = url.startsWith('unix:') ? url.slice('unix:'.length) : undefined
    const target = socketPath ? { socketPath, host: 'localhost', path } : new URL(url + path)
    // The agent only takes switches sent as JSON, which a web page cannot send it (plugins/agent-status).
    const headers = method === 'POST' ? { 'content-type': 'application/json', 'content-length': '2' } : {}
    const req = httpRequest({ ...(socketPath ? target : urlOptions(target as URL)), method, headers, timeout: 5000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')))
    req.on('error', reject)
    req.end(method === 'POST' ? '{}' : undefined)
  })
}

const urlOptions = (url: URL) => ({ host: url.hostname, port: Number(url.port), path: url.pathname + url.search })

const argsForRole = {
  config: { type: 'string', description: 'config file (JSON or TS) under $THRESH_HOME/agent.json settings' },
  'status-port': { type: 'string', description: 'serve the status on this loopback port instead of the Unix socket $THRESH_HOME/agent.sock (platforms without Unix sockets)' },
  port: { type: 'string', description: 'the same as --status-port (older name)' },
} as const

interface RoleArgs {
  config?: string
  port?: string
  'status-port'?: string
}

function roleFlags(args: RoleArgs): Record<string, unknown> {
  const flags: Record<string, unknown> = {}
  const port = args['status-port'] ?? args.port
  if (port !== undefined) flags.statusPort = Number.isInteger(Number(port)) ? Number(port) : port
  return flags
}

/** This CLI's own command line, to start it again in the background. */
function selfCommand(): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno
  if (deno) {
    // The import map lives in deno.json beside cli/; name it so any working directory works.
    const config = [join(dirname(process.argv[1]!), '..', 'deno.json'), join(dirname(process.argv[1]!), 'deno.json')].find((p) => existsSync(p))
    return [deno.execPath(), ['run', '-A', ...(config ? ['--config', config] : []), process.argv[1]!]]
  }
  return [process.execPath, [...process.execArgv, process.argv[1]!]]
}

async function runForeground(args: RoleArgs): Promise<void> {
  claimPidfile(process.pid)
  const runtime = await loadRuntime()
  const release = () => {
    if (runningPid() === process.pid) rmSync(paths().pid, { force: true })
  }
  let running: Awaited<ReturnType<typeof startRole>>
  try {
    running = await startRole({ role: 'agent', configPath: args.config, flags: roleFlags(args) })
  } catch (error) {
    release()
    fail(error)
  }
  let signals = 0
  const shutdown = async (signal: string) => {
    if (++signals > 1) runtime.exit(130)
    running.logger.info(`${signal} received: stopping the agent.`)
    try {
      await running.stop(signal)
      release()
      runtime.exit(0)
    } catch (error) {
      release()
      process.stderr.write(describeError(error) + '\n')
      runtime.exit(1)
    }
  }
  runtime.onSignal('SIGINT', () => void shutdown('SIGINT'))
  runtime.onSignal('SIGTERM', () => void shutdown('SIGTERM'))
}

async function startBackground(args: RoleArgs & { json?: boolean; wait?: string }): Promise<void> {
  const existing = runningPid()
  if (existing !== undefined) throw new ThreshError({ code: 'agent_running', message: `The agent is already running (pid ${existing}); stop it first with thresh agent stop.` })
  const { home, log } = paths()
  mkdirSync(home, { recursive: true, mode: 0o700 })
  rmSync(paths().runtime, { force: true })
  const out = openSync(log, 'a')
  const [command, base] = selfCommand()
  const statusPort = args['status-port'] ?? args.port
  const extra = [...(args.config ? ['--config', args.config] : []), ...(statusPort ? ['--status-port', statusPort] : [])]
  const child = spawn(command, [...base, 'agent', 'start', '--foreground', ...extra], { detached: true, stdio: ['ignore', out, out], env: process.env })
  closeSync(out)
  child.unref()
  const pid = child.pid!
  const deadline = Date.now() + 30_000
  for (;;) {
    const file = runtimeFile()
    if (file?.pid === pid) break
    if (!alive(pid) || child.exitCode !== null) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n') : ''
      throw new ThreshError({ code: 'agent_start_failed', message: `The agent exited while starting; see ${log}${tail ? `:\n${tail}` : '.'}` })
    }
    if (Date.now() > deadline) throw new ThreshError({ code: 'agent_start_failed', message: `The agent (pid ${pid}) did not come up within 30 s; see ${log}.` })
    await new Promise((r) => setTimeout(r, 100))
  }
  // Started is not connected: wait (bounded) until the agent says it is, or why it is not.
  const waitSeconds = args.wait === undefined ? 30 : Number(args.wait)
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new ThreshError({ code: 'invalid_wait', message: `--wait takes seconds (0 or more), not '${args.wait}'.` })
  const connected = waitSeconds === 0 ? undefined : await waitUntilConnected(waitSeconds * 1000)
  if (args.json) {
    printJson({ started: true, pid, log, url: runtimeFile()?.url, ...(connected ? { connected: connected.state === 'connected', state: connected.state, reason: connected.reason, hubUrl: connected.hubUrl } : {}) })
    if (connected && connected.state !== 'connected') process.exitCode = 1
    return
  }
  if (connected && connected.state !== 'connected') {
    throw new ThreshError({
      code: 'agent_not_connected',
      message: `The agent started (pid ${pid}) but is not connected after ${waitSeconds} s — ${whyNotConnected(connected)} It keeps retrying in the background (logs: ${log}; thresh agent stop stops it).`,
    })
  }
  print(`✓ Agent started in the background (pid ${pid})${connected ? `, connected to ${connected.hubUrl}` : ''}.`)
  print(`  Logs: ${log}`)
  print('  Check it with: thresh agent status')
}

/** Polls the agent until it is connected, it cannot be (not configured, key refused), or the time is up. */
async function waitUntilConnected(timeoutMs: number): Promise<Status> {
  const deadline = Date.now() + timeoutMs
  let live = await agentRequest('GET', '/api/agent/status')
  let refusedSince: number | undefined
  while (live.state !== 'connected' && live.state !== 'not_configured' && Date.now() < deadline) {
    // A refused key does not fix itself: give it one more try (a key created a moment ago), not the whole wait.
    if (live.state === 'auth_error') refusedSince ??= Date.now()
    if (refusedSince !== undefined && Date.now() - refusedSince > 3000) break
    await new Promise((r) => setTimeout(r, 250))
    live = await agentRequest('GET', '/api/agent/status')
  }
  return live
}

/** The reason an agent is not connected, in the words a user needs: unreachable, TLS, key rejected, revoked. */
export function whyNotConnected(status: Status): string {
  const reason = (status.reason ?? '').replace(/\.?$/, '.')
  switch (status.state) {
    case 'not_configured':
      return `it is not configured: ${reason}`
    case 'auth_error':
      return /revoked/i.test(reason)
        ? `its key was revoked: ${reason} Create a new one (thresh keys create --type agent) and set it: thresh agent config set api-key thresh_live_….`
        : `the server rejected its key: ${reason} Check it: thresh agent config set api-key thresh_live_….`
    case 'tls_error':
      return `TLS: ${reason}`
    default:
      return `${status.hubUrl ?? 'the server'} is unreachable: ${reason || 'no answer yet.'}`
  }
}

export const start = defineCommand({
  meta: { name: 'start', description: 'Start the agent in the background and wait until it is connected (--foreground for systemd)' },
  args: {
    ...argsForRole,
    foreground: { type: 'boolean', description: 'stay in the foreground (systemd, containers)' },
    wait: { type: 'string', description: 'seconds to wait for the connection before failing with the reason (default 30; 0 = do not wait)' },
    ...jsonArg,
  },
  async run({ args }) {
    if (args.foreground) return runForeground(args)
    await startBackground(args)
  },
})

export const stop = defineCommand({
  meta: { name: 'stop', description: 'Stop the background agent' },
  args: { ...jsonArg },
  async run({ args }) {
    const pid = runningPid()
    if (pid === undefined) {
      if (args.json) return printJson({ stopped: false, running: false })
      print('The agent is not running.')
      return
    }
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + 20_000
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    if (alive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(paths().pid, { force: true })
    rmSync(paths().runtime, { force: true })
    if (args.json) return printJson({ stopped: true, pid })
    print(`✓ Agent stopped (pid ${pid}).`)
  },
})

const TRANSPORT_NAMES: Record<string, string> = { signalr: 'SignalR', rest: 'REST polling' }

export function describeState(status: Status): string {
  switch (status.state) {
    case 'connected':
      return 'Connected ✓'
    case 'auth_error':
      return `Authentication failed: ${status.reason ?? 'the server refused the agent key'}`
    case 'tls_error':
      return `TLS: ${status.reason ?? 'the server certificate is not trusted'}`
    case 'not_configured':
      return `Not configured: ${status.reason ?? 'no midtier-url'}`
    case 'connecting':
      return `Connecting…${status.reason ? ` (last error: ${status.reason})` : ''}`
    default:
      return `Disconnected${status.reason ? `: ${status.reason}` : ''}`
  }
}

function duration(seconds: unknown): string {
  if (typeof seconds !== 'number') return '-'
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${seconds % 60}s` : `${seconds}s`
}

export function renderStatus(status: Status): string {
  const lines = [
    'Agent Status',
    '─'.repeat(40),
    `Agent ID: ${status.agentId}`,
    `Status: ${describeState(status)}`,
    `Hub URL: ${status.hubUrl ?? '-'}${status.target === 'fallback' ? ' (fallback)' : ''}`,
    `Transport: ${status.transport ? TRANSPORT_NAMES[status.transport] ?? status.transport : '-'} (setting: ${status.configuredTransport})`,
    `Uptime: ${duration(status.uptimeSeconds)}`,
    `Last Report: ${status.lastReportAt ? ago(status.lastReportAt) : 'never'}`,
    `Reconnect Count: ${status.reconnectCount}`,
  ]
  if (status.connectedSince) lines.push(`Connected For: ${age(status.connectedSince)}`)
  if (typeof status.bufferedMetrics === 'number' && (status.bufferedMetrics > 0 || (status.droppedMetrics as number) > 0)) {
    lines.push(`Buffered Metrics: ${status.bufferedMetrics} (${status.droppedMetrics} dropped)`)
  }
  lines.push(`PID: ${status.pid}`)
  return lines.join('\n')
}

export const status = defineCommand({
  meta: { name: 'status', description: 'Show the live state of the running agent (exit 0 only when connected, 3 when stopped)' },
  args: { ...jsonArg },
  async run({ args }) {
    if (runningPid() === undefined) {
      if (args.json) printJson({ running: false, state: 'stopped' })
      else print('Agent Status\n' + '─'.repeat(40) + '\nStatus: Stopped (start it with thresh agent start)')
      process.exit(3)
    }
    const live = await agentRequest('GET', '/api/agent/status')
    // Scripts and health checks read the exit status: 0 only when connected.
    if (live.state !== 'connected') process.exitCode = 1
    if (args.json) return printJson({ running: true, ...live })
    print(renderStatus(live))
  },
})

async function switchTo(target: 'fallback' | 'primary', json: boolean | undefined): Promise<void> {
  await agentRequest('POST', target === 'fallback' ? '/api/agent/failover' : '/api/agent/failback')
  const deadline = Date.now() + 20_000
  let live: Status
  do {
    await new Promise((r) => setTimeout(r, 200))
    live = await agentRequest('GET', '/api/agent/status')
  } while (!(live.target === target && live.state === 'connected') && Date.now() < deadline)
  if (json) return printJson(live)
  if (live.target === target && live.state === 'connected') print(`✓ Connected to ${live.hubUrl} (${target}).`)
  else print(`Switched to ${live.hubUrl} (${target}); not connected yet: ${describeState(live)}`)
}

export const failover = defineCommand({
  meta: { name: 'failover', description: 'Switch the running agent to its fallback-url now' },
  args: { ...jsonArg },
  run: ({ args }) => switchTo('fallback', args.json),
})

export const failback = defineCommand({
  meta: { name: 'failback', description: 'Switch the running agent back to its midtier-url now' },
  args: { ...jsonArg },
  run: ({ args }) => switchTo('primary', args.json),
})
