// Logs and exec through the fleet, on real Docker: an agent straight on the hub (SignalR), one behind
// a real mid-tier, one on REST polling. Containers print numbered lines; the hub's NDJSON routes and
// the CLI read them (tail, since, follow, several viewers at once); a stalled viewer costs the hub a
// bounded buffer and is told what it lost; closing a viewer stops the follow on the agent; a mid-tier
// that dies ends the stream with a reason. Exec runs commands with their exit code and stdin.
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { spawn } from 'node:child_process'
import { cliCommand, spawnThresh, tempHome } from '../support/process.ts'
import { metric } from '../support/metrics-page.ts'
import { requireTool } from '../support/require.ts'
import { createHub, createMidtier, eventually, readNdjson, startAgent, type HubProcess, type MidtierProcess, type RunningAgent } from './support.ts'

requireTool('docker')
let docker: Docker
let hub: HubProcess
let mid: MidtierProcess
let token: string
const agents: Record<'direct' | 'viaMid' | 'rest', RunningAgent> = {} as never
const prefix = uniqueName('strm')
const node = (which: string) => `${prefix}-${which}`
const containers: Docker.Container[] = []

// 50 numbered lines at once (odd ones on stderr), then a tick every 200 ms.
const NUMBERED = 'i=1; while [ $i -le 50 ]; do if [ $((i % 2)) -eq 1 ]; then echo "line $i" >&2; else echo "line $i"; fi; i=$((i+1)); done; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'
// As fast as the shell can: a viewer that does not read falls behind at once.
const CHATTY = 'i=0; while true; do i=$((i+1)); echo "chatty line $i with some padding to make it longer than a few bytes"; done'

async function runContainer(name: string, script: string): Promise<string> {
  const container = await docker.createContainer({
    name,
    Image: 'thresh-test/busybox:1',
    Entrypoint: ['sh', '-c', script],
    Labels: { 'thresh-test': prefix },
    HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '1' } } },
  })
  containers.push(container)
  await container.start()
  return name
}

/** Reads an NDJSON route of the hub until `stop` says so (or it ends); the response is then closed. */
const readRecords = (path: string, stop?: (records: any[]) => boolean, signal?: AbortSignal) => readNdjson(hub.url + path, token, stop, signal)

function cli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnThresh('node', args, { THRESH_HOME: tempHome('thresh-e2e-cli-'), THRESH_CLI_TOKEN: token, THRESH_HUB_URL: hub.url })
  let stdout = ''
  let stderr = ''
  proc.child.stdout!.on('data', (c) => (stdout += c))
  proc.child.stderr!.on('data', (c) => (stderr += c))
  return proc.exited.then((code) => ({ code, stdout, stderr }))
}

beforeAll(async () => {
  docker = await connectDocker()
  hub = await createHub({ config: { publicMetrics: 'all', execIdleTimeout: '3s' } })
  token = await hub.login()
  const liveKey = (await hub.createKey(token, 'agent', 'e2e-streams')).key
  const midKey = (await hub.createKey(token, 'midtier', 'e2e-streams-mid')).key
  mid = await createMidtier(hub.url, midKey)
  const base = { apiKey: liveKey, metricsInterval: '1s', reconnectDelay: '300ms', publicMetrics: 'all', pluginOptions: { 'runtime-docker': { proxy: false } } }
  const [direct, viaMid, rest] = await Promise.all([
    startAgent({ ...base, midtierUrl: hub.url, transport: 'signalr', nodeName: node('direct') }),
    startAgent({ ...base, midtierUrl: mid.url, transport: 'signalr', nodeName: node('mid') }),
    startAgent({ ...base, midtierUrl: hub.url, transport: 'rest', nodeName: node('rest'), allowExec: false }),
  ])
  Object.assign(agents, { direct, viaMid, rest })
  await Promise.all(Object.values(agents).map((a) => a.until('connected', undefined, 30_000)))
  await eventually('all three nodes online', async () => {
    const nodes = (await hub.request('GET', '/api/nodes', { token })).body.nodes as Array<{ hostname: string; status: string }>
    return ['direct', 'mid', 'rest'].every((w) => nodes.some((n) => n.hostname === node(w) && n.status === 'online')) || undefined
  }, 30_000)
}, 180_000)

afterAll(async () => {
  await Promise.all(Object.values(agents).map((a) => a?.proc.stop('SIGKILL')))
  await mid?.kill()
  await hub?.kill()
  await Promise.all(containers.map((c) => c.remove({ force: true }).catch(() => {})))
})

const lines = (records: any[]) => records.filter((r) => typeof r.line === 'string').map((r) => r.line as string)

describe('logs', () => {
  it('tail and since through the API, stdout and stderr kept apart, each line with its time', async () => {
    const name = await runContainer(`${prefix}-num`, NUMBERED)
    await eventually('the first 50 lines', async () => lines(await readRecords(`/api/nodes/${node('direct')}/containers/${name}/logs`)).includes('line 50') || undefined)
    const all = await readRecords(`/api/nodes/${node('direct')}/containers/${name}/logs`)
    const of = (stream: string) => lines(all.filter((r) => r.stream === stream))
    expect(of('stderr').slice(0, 3)).toEqual(['line 1', 'line 3', 'line 5'])
    expect(of('stdout').slice(0, 3)).toEqual(['line 2', 'line 4', 'line 6'])
    expect(all.every((r) => r.end || !Number.isNaN(Date.parse(r.time)))).toBe(true)
    expect(all.at(-1)).toEqual({ end: true })

    const tail = await readRecords(`/api/nodes/${node('direct')}/containers/${name}/logs?tail=3`)
    expect(lines(tail)).toHaveLength(3)
    // The last three the log holds: the newest ones the container wrote. (Docker copies stdout and
    // stderr on their own, so under load an odd stderr line can be logged after a later stdout one.)
    const numbers = lines(tail).map((l) => Number(l.split(' ')[1]))
    expect(new Set(numbers).size).toBe(3)
    expect(Math.min(...numbers)).toBeGreaterThan(40)
    expect(Math.max(...numbers)).toBeGreaterThanOrEqual(Math.max(...lines(all).map((l) => Number(l.split(' ')[1]))))

    // since the time of one tick: no earlier tick comes back, and that one and later ones do.
    const ticks = await eventually('a few ticks', async () => {
      const found = (await readRecords(`/api/nodes/${node('direct')}/containers/${name}/logs`)).filter((r) => /^tick/.test(r.line ?? ''))
      return found.length >= 4 ? found : undefined
    })
    const pick = ticks[2]
    const number = (line: string) => Number(line.split(' ')[1])
    const since = lines(await readRecords(`/api/nodes/${node('direct')}/containers/${name}/logs?since=${encodeURIComponent(pick.time)}`))
    expect(since.length).toBeGreaterThan(0)
    expect(since.every((l) => l.startsWith('tick') && number(l) >= number(pick.line))).toBe(true)
    expect(since[0]).toBe(pick.line)
  })

  it('the CLI prints the tail of any container, stderr on stderr, with --timestamps', async () => {
    const name = `${prefix}-num`
    const result = await cli(['container', 'logs', node('direct'), name, '--tail', '60', '--timestamps'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+Z line 50$/m)
    expect(result.stderr).toMatch(/Z line 49$/m)
    expect(result.stdout).not.toMatch(/line 49$/m)
  })

  it('three viewers follow at once; closing them stops the follow on the agent', async () => {
    const name = `${prefix}-num`
    const path = `/api/nodes/${node('direct')}/containers/${name}/logs?follow=true&tail=0`
    const viewers = await Promise.all([0, 1, 2].map(() => readRecords(path, (r) => lines(r).filter((l) => l.startsWith('tick')).length >= 3)))
    for (const records of viewers) expect(lines(records).filter((l) => l.startsWith('tick')).length).toBeGreaterThanOrEqual(3)
    // All three closed their responses: the agent stops reading Docker's log stream.
    await eventually('no streams open on the agent', async () => ((await metric(agents.direct.url, 'agent_streams_open')) === 0 ? true : undefined), 5000)
    expect(await metric(hub.url, 'hub_streams_open')).toBe(0)
  })

  it('a stalled viewer keeps the hub within its bound and is told how many lines it lost', async () => {
    const name = await runContainer(`${prefix}-chatty`, CHATTY)
    const stalled = new AbortController()
    const response = await fetch(`${hub.url}/api/nodes/${node('direct')}/containers/${name}/logs?follow=true&tail=0`, { headers: { authorization: `Bearer ${token}` }, signal: stalled.signal })
    expect(response.status).toBe(200)
    try {
      // Nothing is read: the hub holds at most a window for this viewer, the agent stops sending and
      // drops its oldest lines instead; the hub's buffers stay within their bound all along.
      await eventually('the hub holding output for the viewer', async () => ((await metric(hub.url, 'hub_stream_buffered_bytes')) > 100_000 ? true : undefined), 30_000)
      for (let i = 0; i < 10; i++) {
        // At most one flow-control window (2 MiB) in flight from the agent for this stream.
        expect(await metric(hub.url, 'hub_stream_buffered_bytes')).toBeLessThanOrEqual(2 * 1024 * 1024)
        await new Promise((r) => setTimeout(r, 200))
      }
      // When the viewer reads again, it hears how much it missed before the lines that follow.
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let text = ''
      while (!/"dropped":\d+/.test(text)) text += (await reader.read()).value ?? ''
      expect(Number(/"dropped":(\d+)/.exec(text)![1])).toBeGreaterThan(0)
    } finally {
      stalled.abort()
      await containers.at(-1)!.remove({ force: true })
    }
    await eventually('the follow stopped on the agent', async () => ((await metric(agents.direct.url, 'agent_streams_open')) === 0 ? true : undefined), 5000)
  }, 180_000)

  it('through a mid-tier: tail and follow; a mid-tier that dies ends the stream with a reason', async () => {
    const name = await runContainer(`${prefix}-mid`, NUMBERED)
    await eventually('lines via the mid-tier', async () => lines(await readRecords(`/api/nodes/${node('mid')}/containers/${name}/logs?tail=5`)).length === 5 || undefined)
    const follow = readRecords(`/api/nodes/${node('mid')}/containers/${name}/logs?follow=true&tail=1`, () => false)
    await new Promise((r) => setTimeout(r, 1000))
    await mid.kill()
    const records = await follow
    expect(lines(records).some((l) => l.startsWith('tick'))).toBe(true)
    expect(records.at(-1)).toEqual({ end: true, error: 'The mid-tier relaying this node disconnected.' })
    await mid.start()
    try {
        await agents.viaMid.until('connected', undefined, 30_000)
      } catch (error) {
        console.log(agents.viaMid.proc.output().slice(-3000))
        throw error
      }
    })

    it('over REST polling: tail, and follow stopped by closing the viewer', async () => {
      const name = await runContainer(`${prefix}-rest`, NUMBERED)
      await eventually('lines over REST', async () => lines(await readRecords(`/api/nodes/${node('rest')}/containers/${name}/logs?tail=4`)).length === 4 || undefined)
      const records = await readRecords(`/api/nodes/${node('rest')}/containers/${name}/logs?follow=true&tail=0`, (r) => lines(r).length >= 3)
      expect(lines(records).every((l) => l.startsWith('tick'))).toBe(true)
      await eventually('the follow stopped on the REST agent', async () => ((await metric(agents.rest.url, 'agent_streams_open')) === 0 ? true : undefined), 5000)
    })

    it('an unknown container is a 404 naming it', async () => {
      const reply = await hub.request('GET', `/api/nodes/${node('direct')}/containers/${prefix}-nope/logs`, { token })
      expect(reply.status).toBe(404)
      expect(reply.body.message).toContain(`No container ${prefix}-nope`)
    })
  })

  describe('stacks', () => {
    const stack = `${prefix}-st`
    const every = (word: string, pause: string) => ['sh', '-c', `i=1; while true; do echo "${word} $i"; i=$((i+1)); sleep ${pause}; done`]

    it('stack logs: services interleaved by time and prefixed like docker compose logs, or only the ones named', async () => {
      const deploy = await hub.request('POST', '/api/stacks/deploy', {
        token,
        body: { name: stack, targetNode: node('direct'), services: { web: { image: 'thresh-test/busybox:1', command: every('web', '0.13') }, worker: { image: 'thresh-test/busybox:1', command: every('work', '0.17') } } },
      })
      expect(deploy.status).toBeLessThan(300)
      await eventually('the stack running', async () => ((await hub.request('GET', `/api/stacks/${stack}`, { token })).body.status === 'running' ? true : undefined), 60_000)
      await new Promise((r) => setTimeout(r, 1500))
      const both = await cli(['stack', 'logs', stack, '--timestamps'])
      expect(both.code).toBe(0)
      const printed = both.stdout.trim().split('\n')
      expect(printed.some((l) => /^web {5}\| \S+Z web \d+$/.test(l))).toBe(true)
      expect(printed.some((l) => /^worker {2}\| \S+Z work \d+$/.test(l))).toBe(true)
      const times = printed.map((l) => l.split('| ')[1]!.split(' ')[0]!)
      expect(times).toEqual([...times].sort())
      const one = await cli(['stack', 'logs', stack, 'worker', '--tail', '2'])
      expect(one.stdout.trim().split('\n')).toHaveLength(2)
      expect(one.stdout).not.toContain('web')
      const exec = await cli(['stack', 'exec', stack, 'web', '--', 'sh', '-c', 'echo in web; exit 4'])
      expect(exec.stdout).toBe('in web\n')
      expect(exec.code).toBe(4)
      await hub.request('DELETE', `/api/stacks/${stack}`, { token })
    })
  })

  describe('exec', () => {
    it('runs a command through the CLI and passes its output and exit code through', async () => {
      const name = `${prefix}-num`
      const result = await cli(['container', 'exec', node('direct'), name, '--', 'sh', '-c', 'echo hello from $(hostname); echo oops >&2; exit 3'])
      expect(result.stdout).toMatch(/^hello from \w+/)
      expect(result.stderr).toContain('oops')
      expect(result.code).toBe(3)
      const ok = await cli(['container', 'exec', node('direct'), name, '--', 'cat', '/etc/passwd'])
      expect(ok.code).toBe(0)
      expect(ok.stdout).toContain('root:x:0:0')
    })

    it('pipes stdin when it is not a terminal, through a mid-tier too', async () => {
      const name = `${prefix}-mid`
      // spawnThresh ignores stdin; this run feeds it through a pipe.
      const [command, argv] = cliCommand('node', ['container', 'exec', node('mid'), name, '--', 'sh', '-c', 'tr a-z A-Z; exit 7'])
      const child = spawn(command, argv, { env: { ...process.env, THRESH_HOME: tempHome('thresh-e2e-cli-'), THRESH_CLI_TOKEN: token, THRESH_HUB_URL: hub.url }, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      child.stdout.on('data', (c) => (stdout += c))
      child.stdin.end('piped text\n')
      const code = await new Promise((resolve) => child.once('exit', resolve))
      expect(stdout).toBe('PIPED TEXT\n')
      expect(code).toBe(7)
    })

    it('on a terminal: a TTY of the terminal\'s size in raw mode, so Ctrl-C reaches the command, whose exit code comes back', async () => {
      requireTool('script')
      const name = await runContainer(`${prefix}-tty`, 'sleep 3600')
      // The remote command traps SIGINT before it says ready: Ctrl-C typed after "ready" must reach it
      // through the TTY. Without raw mode the local terminal would turn Ctrl-C into a SIGINT for the CLI.
      // (An engine older than API 1.42 sizes the TTY just after the command starts: wait for a size.)
      const remote = 'until s=$(stty size 2>/dev/null) && [ -n "$s" ] && [ "$s" != "0 0" ]; do sleep 0.1; done; echo "size $s"; tty; trap "echo interrupted; exit 5" INT; echo ready; while true; do sleep 1; done'
      const [command, argv] = cliCommand('node', ['container', 'exec', node('direct'), name, '--', 'sh', '-c', remote])
      const line = [command, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
      const child = spawn('script', ['-qfec', `stty cols 123 rows 45; exec ${line}`, '/dev/null'], {
        env: { ...process.env, THRESH_HOME: tempHome('thresh-e2e-cli-'), THRESH_CLI_TOKEN: token, THRESH_HUB_URL: hub.url, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let out = ''
      let interrupted = false
      child.stdout.on('data', (chunk) => {
        out += chunk
        if (!interrupted && /\bready\r*\n/.test(out)) {
          interrupted = true
          child.stdin.write('\x03')
        }
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), 25_000)
      const code = await new Promise((resolve) => child.once('exit', resolve))
      clearTimeout(timer)
      expect(out, out).toContain('size 45 123')
      expect(out).toMatch(/\/dev\/pts\/\d+/)
      expect(out).toContain('interrupted')
      expect(code, out).toBe(5)
    })

    it('is audited with who, node, container, command, start and end', async () => {
      const audit = await eventually('exec.end in the audit log', async () => {
        const entries = (await hub.request('GET', '/api/audit?limit=100', { token })).body.entries as Array<{ action: string; actor: string; details: any }>
        return entries.some((e) => e.action === 'exec.end') ? entries : undefined
      })
      const start = audit.find((e) => e.action === 'exec.start' && e.details.command.includes('tr a-z A-Z; exit 7'))!
      expect(start.actor).toBe('admin')
      expect(start.details).toMatchObject({ node: node('mid'), container: `${prefix}-mid` })
      const end = audit.find((e) => e.action === 'exec.end' && e.details.sessionId === start.details.sessionId)!
      expect(end.details.exitCode).toBe(7)
      expect(Date.parse(end.details.end)).toBeGreaterThanOrEqual(Date.parse(end.details.start))
    })

    it('closes a session that stays idle for execIdleTimeout, and says why', async () => {
      const opened = await hub.request('POST', `/api/nodes/${node('direct')}/containers/${prefix}-num/exec`, { token, body: { command: ['sh'] } })
      expect(opened.status).toBe(201)
      const records = await readRecords(`/api/exec/${opened.body.id}`)
      expect(records.at(-1)).toEqual({ end: true, error: 'The session was idle for 3 s and was closed.' })
      expect((await hub.request('POST', `/api/exec/${opened.body.id}/input`, { token, body: { data: 'ZWNobwo=' } })).status).toBe(404)
    })

    it('an agent with allow-exec false refuses, and says how to allow it', async () => {
      const name = `${prefix}-rest`
      const result = await cli(['container', 'exec', node('rest'), name, '--', 'true'])
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain('allow-exec')
    })
  })
