// Alerts end to end with real processes: a hub (embedded store, restarted mid-test) and an agent on the
// real Docker engine. Container events reach the event log with their exit codes; rules fire and
// resolve once (container stopped, CPU on a burn loop, node offline after its window); a silence holds a
// rule back; notifications reach an in-test HTTP receiver (signature checked) and an in-test SMTP server
// (STARTTLS, auth); a notification pending across a hub restart is delivered once after it.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import type Docker from 'dockerode'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDocker, freePort, uniqueName } from '../support/docker.ts'
import { createHub, eventually, remoteCli, removeStackObjects, startAgent, type HubProcess, type RunningAgent } from '../support/fleet.ts'
import { spawnThresh, tempHome } from '../support/process.ts'
import { requireTool } from '../support/require.ts'

requireTool('docker')

const SECRET = 'e2e-webhook-secret-1'
const SMTP_PASSWORD = 'e2e-smtp-password-1'
const IMAGE = 'thresh-test/busybox:1'

interface Received {
  headers: IncomingHttpHeaders
  body: string
  json: any
}

async function startReceiver(port?: number): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      received.push({ headers: req.headers, body, json })
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(port ?? 0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const verified = (r: Received) => {
  const timestamp = String(r.headers['x-thresh-timestamp'])
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${r.body}`).digest('hex')}`
  return r.headers['x-thresh-signature'] === expected
}

let docker: Docker
let hub: HubProcess
let agent: RunningAgent | undefined
let token: string
let agentKey: string
let receiver: Awaited<ReturnType<typeof startReceiver>>
const containers: Docker.Container[] = []
const burners: ChildProcess[] = []
const nodeName = uniqueName('alertsnode')
const stackA = uniqueName('alertsa')
const stackB = uniqueName('alertsb')
const stacks: string[] = []

async function sleeper(stack: string): Promise<{ container: Docker.Container; name: string }> {
  const name = uniqueName(`${stack}-sleeper`)
  const container = await docker.createContainer({ Image: IMAGE, name, Cmd: ['sleep', '600'], Labels: { 'thresh.stack': stack, 'thresh.service': 'sleeper' } })
  containers.push(container)
  await container.start()
  return { container, name }
}

/** A container thresh did not deploy: `thresh container stop` may act on it. */
async function plainContainer(label: string): Promise<{ container: Docker.Container; name: string }> {
  const name = uniqueName(label)
  const container = await docker.createContainer({ Image: IMAGE, name, Cmd: ['sleep', '600'] })
  containers.push(container)
  await container.start()
  return { container, name }
}

const api = async (method: string, path: string, body?: unknown) => {
  const reply = await hub.request(method, path, { token, ...(body !== undefined ? { body } : {}) })
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`)
  return reply.body
}
const alerts = async (): Promise<any[]> => (await api('GET', '/api/alerts?limit=1000')).alerts
const events = async (query: string): Promise<any[]> => (await api('GET', `/api/events?${query}`)).events

beforeAll(async () => {
  docker = await connectDocker()
  receiver = await startReceiver()
  hub = await createHub({
    config: { alertInterval: '300ms', deliveryBackoff: '300ms', offlineAfter: '3s' },
    pluginOptions: { 'hub-alerts': { deliveryPollMs: 200, deliveryTimeoutMs: 3000 } },
  })
  token = await hub.login()
  agentKey = (await hub.createKey(token, 'agent', 'alerts-e2e')).key
  agent = await startAgent({ midtierUrl: hub.url, apiKey: agentKey, nodeName, metricsInterval: '500ms', pluginOptions: { 'runtime-docker': { proxy: false } } })
  await agent.until('connected', undefined, 30_000)
  await api('POST', '/api/alerts/channels', { name: 'hooks', type: 'webhook', url: receiver.url, secret: SECRET })
}, 120_000)

afterAll(async () => {
  for (const burner of burners) burner.kill('SIGKILL')
  await agent?.proc.stop('SIGKILL')
  await hub?.kill()
  await receiver?.close()
  for (const c of containers) await c.remove({ force: true }).catch(() => {})
  for (const stack of stacks) await removeStackObjects(docker, stack)
})

describe('alerts on a real fleet', () => {
  it('records a killed container with its exit code, fires "container stopped" through a signed webhook, and resolves when it starts again', async () => {
    const channels = await api('GET', '/api/alerts/channels')
    expect(channels.channels[0]).toMatchObject({ name: 'hooks', hasSecret: true })
    expect(JSON.stringify(channels)).not.toContain(SECRET)

    const cli = remoteCli(hub, token)
    const added = await cli('alert', 'rule', 'add', 'container_stopped', '--stack', stackA, '--channel', 'hooks', '--json')
    expect(added.code).toBe(0)
    const rule = JSON.parse(added.output.slice(added.output.indexOf('{')))
    expect(rule).toMatchObject({ kind: 'container_stopped', scopeType: 'stack', scopeValue: stackA })
    const { container, name } = await sleeper(stackA)
    await eventually('the start event', async () => (await events(`stack=${stackA}`)).find((e) => e.kind === 'container_start'), 20_000)
    // `thresh events -f` follows new events as they are recorded.
    const follow = spawnThresh('node', ['events', '--stack', stackA, '-f', '--hub', hub.url], { THRESH_HOME: tempHome('thresh-e2e-follow-'), THRESH_CLI_TOKEN: token })
    await eventually('the follower to print the start', () => follow.output().includes('started on'), 20_000)
    await container.kill()
    const died = await eventually('the die event', async () => (await events(`stack=${stackA}`)).find((e) => e.kind === 'container_die'), 20_000)
    expect(died.details.exitCode).toBe(137)
    expect(died.message).toContain('exited with code 137')

    const alert = await eventually('the alert', async () => (await alerts()).find((a) => a.ruleId === rule.id && a.state === 'firing'), 20_000)
    expect(alert.details).toMatchObject({ container: name, exitCode: 137 })
    expect(alert.message).toContain('exit code 137')
    const firing = await eventually('the webhook call', () => receiver.received.find((r) => r.json?.alert?.id === alert.id && r.json.event === 'firing'), 20_000)
    expect(verified(firing)).toBe(true)
    expect(firing.json.alert.details.exitCode).toBe(137)

    await eventually('the follower to print the exit', () => follow.output().includes('exited with code 137'), 20_000)
    await follow.stop()
    const listed = await cli('events', '--stack', stackA)
    expect(listed.code).toBe(0)
    expect(listed.output).toContain('exited with code 137')

    await container.start()
    await eventually('the resolution', async () => (await alerts()).find((a) => a.id === alert.id && a.state === 'resolved'), 20_000)
    const resolved = await eventually('the resolved webhook call', () => receiver.received.find((r) => r.json?.alert?.id === alert.id && r.json.event === 'resolved'), 20_000)
    expect(verified(resolved)).toBe(true)
    expect(receiver.received.filter((r) => r.json?.alert?.id === alert.id && r.json.event === 'firing')).toHaveLength(1)
    await api('DELETE', `/api/alerts/rules/${rule.id}`)
  }, 120_000)

  it('does not fire "container stopped" for what thresh stops on purpose (stack update, stack stop, container stop), yet fires for a container killed outside thresh', async () => {
    const rule = await api('POST', '/api/alerts/rules', { name: 'stops-on-purpose', kind: 'container_stopped', scope: 'node', target: nodeName, channels: ['hooks'] })
    const cli = remoteCli(hub, token)
    const stack = uniqueName('alertsc')
    stacks.push(stack)
    const file = join(tempHome('thresh-e2e-stack-'), 'stack.json')
    writeFileSync(file, JSON.stringify({ name: stack, services: { web: { image: IMAGE, ports: [`${await freePort()}:8080`] } } }))
    const up = await cli('stack', 'up', file, '--node', nodeName, '--json')
    expect(up.code, up.output).toBe(0)
    // The update stops the old container, stack stop the new one: both on purpose.
    const updated = await cli('stack', 'update', stack, '--service', 'web', '--image', 'thresh-test/busybox:2')
    expect(updated.code, updated.output).toBe(0)
    const stopped = await cli('stack', 'stop', stack)
    expect(stopped.code, stopped.output).toBe(0)
    const asked = await plainContainer('alertsd')
    const containerStop = await cli('container', 'stop', nodeName, asked.name)
    expect(containerStop.code, containerStop.output).toBe(0)
    await eventually('the stops in the event log', async () => {
      const dies = (await events('kind=container_die&limit=1000')).filter((e) => e.stack === stack || e.details?.container === asked.name)
      return dies.length >= 3 ? dies : undefined
    }, 30_000)
    const dies = (await events('kind=container_die&limit=1000')).filter((e) => e.stack === stack || e.details?.container === asked.name)
    for (const e of dies) {
      expect(e.details.requested).toBe(true)
      expect(e.message).toContain('was stopped')
    }

    // Killed outside thresh: fires, with its exit code. Its exit is recorded after the others, so by the
    // time its alert fires the evaluator has seen every stop above.
    const killed = await plainContainer('alertse')
    await eventually('the start of the container to kill', async () => (await events('kind=container_start&limit=1000')).find((e) => e.details?.container === killed.name), 20_000)
    await killed.container.kill()
    const alert = await eventually('the alert for the killed container', async () => (await alerts()).find((a) => a.ruleId === rule.id && a.details?.container === killed.name), 20_000)
    expect(alert).toMatchObject({ state: 'firing', details: { exitCode: 137 } })
    // (The Docker engine is shared with whatever else runs on this machine: only this test's containers count.)
    const ours = (container: string, inStack?: string) => container === asked.name || inStack === stack
    expect((await alerts()).filter((a) => a.ruleId === rule.id && ours(a.details.container, a.details.stack))).toEqual([])
    expect(receiver.received.filter((r) => r.json?.alert?.ruleId === rule.id && ours(r.json.alert.details.container, r.json.alert.details.stack))).toEqual([])
    await api('DELETE', `/api/alerts/rules/${rule.id}`)
  }, 180_000)

  it('fires a CPU rule on a burn loop and resolves it after; a silenced rule records its alert and sends nothing', async () => {
    const hot = await api('POST', '/api/alerts/rules', { name: 'cpu-hot', kind: 'cpu', scope: 'node', target: nodeName, threshold: 80, for: '2s', channels: ['hooks'] })
    const quiet = await api('POST', '/api/alerts/rules', { name: 'cpu-quiet', kind: 'cpu', scope: 'node', target: nodeName, threshold: 80, for: '2s', channels: ['hooks'] })
    await api('POST', '/api/alerts/silences', { rule: 'cpu-quiet', for: '10m', comment: 'e2e' })
    for (let i = 0; i < os.cpus().length; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
    const alert = await eventually('the CPU alert', async () => (await alerts()).find((a) => a.ruleId === hot.id && a.state === 'firing'), 60_000)
    expect(alert.details.value).toBeGreaterThan(80)
    await eventually('the webhook call', () => receiver.received.find((r) => r.json?.alert?.id === alert.id && r.json.event === 'firing'), 20_000)
    const silenced = await eventually('the silenced alert', async () => (await alerts()).find((a) => a.ruleId === quiet.id), 20_000)
    expect(silenced.silenced).toBe(true)

    for (const burner of burners.splice(0)) burner.kill('SIGKILL')
    await eventually('the CPU alert to resolve', async () => (await alerts()).find((a) => a.id === alert.id && a.state === 'resolved'), 60_000)
    await eventually('the resolved webhook call', () => receiver.received.find((r) => r.json?.alert?.id === alert.id && r.json.event === 'resolved'), 20_000)
    expect(receiver.received.filter((r) => r.json?.alert?.ruleId === quiet.id)).toEqual([])
    await api('DELETE', `/api/alerts/rules/${hot.id}`)
    await api('DELETE', `/api/alerts/rules/${quiet.id}`)
  }, 180_000)

  it('fires "node offline" only after its window when the agent stops, and resolves when the agent returns', async () => {
    const rule = await api('POST', '/api/alerts/rules', { kind: 'node_offline', scope: 'node', target: nodeName, for: '3s', channels: ['hooks'] })
    const stoppedAt = Date.now()
    await agent!.stop()
    const alert = await eventually('the offline alert', async () => (await alerts()).find((a) => a.ruleId === rule.id && a.state === 'firing'), 30_000)
    // Measured from the node's last report, which is at most one metrics interval before the stop.
    expect(Date.parse(alert.startedAt) - stoppedAt).toBeGreaterThanOrEqual(2400)
    await eventually('the webhook call', () => receiver.received.find((r) => r.json?.alert?.id === alert.id && r.json.event === 'firing'), 20_000)
    expect((await events('kind=node_offline')).length).toBeGreaterThan(0)

    agent = await startAgent({ midtierUrl: hub.url, apiKey: agentKey, nodeName, metricsInterval: '500ms', pluginOptions: { 'runtime-docker': { proxy: false } } }, { home: agent!.home })
    await agent.until('connected', undefined, 30_000)
    await eventually('the offline alert to resolve', async () => (await alerts()).find((a) => a.id === alert.id && a.state === 'resolved'), 30_000)
    const reconnect = await eventually('the reconnect event', async () => (await events('kind=node_reconnect'))[0], 10_000)
    expect(reconnect.details.transport).toBe('signalr')
    await api('DELETE', `/api/alerts/rules/${rule.id}`)
  }, 120_000)

  it('delivers a notification that was pending when the hub restarted, once, and shows the failed attempts on the channel meanwhile', async () => {
    const port = await freePort()
    const late = await api('POST', '/api/alerts/channels', { name: 'late', type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: SECRET })
    const rule = await api('POST', '/api/alerts/rules', { kind: 'container_stopped', scope: 'stack', target: stackB, channels: ['late'] })
    const { container } = await sleeper(stackB)
    await eventually('the start event', async () => (await events(`stack=${stackB}`)).find((e) => e.kind === 'container_start'), 20_000)
    await container.kill()
    const alert = await eventually('the alert', async () => (await alerts()).find((a) => a.ruleId === rule.id && a.state === 'firing'), 20_000)
    const failing = await eventually('a failed attempt', async () => {
      const channel = (await api('GET', '/api/alerts/channels')).channels.find((c: any) => c.id === late.id)
      return channel.lastAttempts.length > 0 ? channel : undefined
    })
    expect(failing.lastAttempts[0]).toMatchObject({ ok: false })

    await hub.kill()
    const lateReceiver = await startReceiver(port)
    try {
      await hub.start()
      const delivered = await eventually('the pending notification', () => lateReceiver.received.find((r) => r.json?.alert?.id === alert.id), 60_000)
      expect(verified(delivered)).toBe(true)
      expect(delivered.json.event).toBe('firing')
      await new Promise((resolve) => setTimeout(resolve, 3000))
      expect(lateReceiver.received.filter((r) => r.json?.alert?.id === alert.id)).toHaveLength(1)
      const channel = (await api('GET', '/api/alerts/channels')).channels.find((c: any) => c.id === late.id)
      expect(channel).toMatchObject({ status: 'ok', failures: 0 })
    } finally {
      await lateReceiver.close()
    }
    await api('DELETE', `/api/alerts/rules/${rule.id}`)
  }, 180_000)

  it('sends e-mail through SMTP with STARTTLS and auth, and `thresh alert channel test` reports a refused password', async () => {
    const { generate } = await import('selfsigned')
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, days: 2 } as never)
    const mails: Array<{ user: string; secure: boolean; text: string }> = []
    const smtp = new SMTPServer({
      key: pems.private,
      cert: pems.cert,
      onAuth(auth, _session, callback) {
        if (auth.username === 'alerts' && auth.password === SMTP_PASSWORD) return callback(null, { user: auth.username })
        callback(new Error('Invalid username or password'))
      },
      onData(stream, session, callback) {
        let text = ''
        stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
        stream.on('end', () => {
          mails.push({ user: String(session.user), secure: session.secure, text })
          callback()
        })
      },
    })
    const port = await freePort()
    await new Promise<void>((resolve) => smtp.listen(port, '127.0.0.1', resolve))
    try {
      const email = { type: 'email', host: '127.0.0.1', port, starttls: true, tlsVerify: false, username: 'alerts', from: 'thresh@example.test', to: ['ops@example.test'] }
      await api('POST', '/api/alerts/channels', { name: 'mail', ...email, password: SMTP_PASSWORD })
      await api('POST', '/api/alerts/channels', { name: 'mail-wrong', ...email, password: 'not-the-password' })
      expect(JSON.stringify(await api('GET', '/api/alerts/channels'))).not.toContain(SMTP_PASSWORD)

      const cli = remoteCli(hub, token)
      const sent = await cli('alert', 'channel', 'test', 'mail')
      expect(sent.output).toContain('Test notification sent')
      expect(sent.code).toBe(0)
      expect(mails).toHaveLength(1)
      expect(mails[0]).toMatchObject({ user: 'alerts', secure: true })
      expect(mails[0]!.text).toContain('Subject: thresh: test notification')

      const refused = await cli('alert', 'channel', 'test', 'mail-wrong')
      expect(refused.code).not.toBe(0)
      expect(refused.output).toMatch(/test notification failed.*(Invalid|auth)/i)
      const channel = (await api('GET', '/api/alerts/channels')).channels.find((c: any) => c.name === 'mail-wrong')
      expect(channel.lastAttempts[0]).toMatchObject({ ok: false })
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()))
    }
  }, 60_000)
})
