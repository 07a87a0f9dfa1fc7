// `npm start`, the README's main job: a hub with embedded storage and a local agent connected to it,
// and a second start that reuses both (same admin, same key, same node).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freePort, repoRoot, tempHome } from '../support/process.ts'

function startFleet(home: string, port: number) {
  const child = spawn(process.execPath, [join(repoRoot, 'scripts/start-fleet.mjs'), '--port', String(port)], {
    env: { ...process.env, THRESH_HOME: home, NO_COLOR: '1', THRESH_ADMIN_PASSWORD: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  return {
    output: () => output,
    async waitFor(text: string, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      while (!output.includes(text)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`never printed '${text}':\n${output}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    exited,
    async stop() {
      child.kill('SIGINT')
      return exited
    },
  }
}

function api(url: string, ca: string, options: { method?: string; token?: string; body?: unknown } = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', ca, headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) } }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => (res.statusCode! >= 400 ? reject(new Error(`${res.statusCode} ${text}`)) : resolve(JSON.parse(text))))
    })
    req.on('error', reject)
    req.end(options.body ? JSON.stringify(options.body) : undefined)
  })
}

describe('npm start', () => {
  it('runs a hub with embedded storage and a local agent that appears online, and restarts into the same fleet', async () => {
    const home = tempHome()
    const port = await freePort()
    const first = startFleet(home, port)
    let password = ''
    try {
      await first.waitFor('Connected to https://127.0.0.1:')
      password = /admin password \(shown once\): (\S+)/.exec(first.output())![1]!
      const ca = readFileSync(join(home, 'tls/ca.pem'), 'utf8')
      const { accessToken } = await api(`https://127.0.0.1:${port}/api/auth/login`, ca, { method: 'POST', body: { username: 'admin', password } })
      const deadline = Date.now() + 20_000
      let nodes: any[] = []
      while (Date.now() < deadline) {
        const body = await api(`https://127.0.0.1:${port}/api/nodes`, ca, { token: accessToken })
        nodes = Array.isArray(body) ? body : body.nodes
        if (nodes.some((n) => n.status === 'online')) break
        await new Promise((r) => setTimeout(r, 250))
      }
      expect(nodes).toHaveLength(1)
      expect(nodes[0].status).toBe('online')
    } finally {
      expect(await first.stop()).toBe(0)
    }

    // The next run on another port: the agent follows this run's hub (and holds no port of its own).
    const port2 = await freePort()
    const second = startFleet(home, port2)
    try {
      await second.waitFor(`Connected to https://127.0.0.1:${port2}`)
      expect(second.output()).not.toContain('admin password')
      expect(second.output()).not.toContain('created agent key')
      const ca = readFileSync(join(home, 'tls/ca.pem'), 'utf8')
      const { accessToken } = await api(`https://127.0.0.1:${port2}/api/auth/login`, ca, { method: 'POST', body: { username: 'admin', password } })
      const body = await api(`https://127.0.0.1:${port2}/api/nodes`, ca, { token: accessToken })
      expect(Array.isArray(body) ? body : body.nodes).toHaveLength(1)
    } finally {
      expect(await second.stop()).toBe(0)
    }
  }, 120_000)

  it('a first run on a busy port creates nothing; the next run chooses the admin password and connects the agent', async () => {
    const home = tempHome()
    const port = await freePort()
    // Held on every interface, as the hub binds by default.
    // It hangs up on whoever connects (a probe of the port), so closing it later does not wait on them.
    const blocker = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => blocker.listen(port, resolve))
    const refused = startFleet(home, port)
    expect(await refused.exited).not.toBe(0)
    expect(refused.output()).toContain(`Port ${port} is already in use`)
    expect(refused.output()).not.toContain('admin password')
    await new Promise<void>((resolve) => blocker.close(() => resolve()))

    const next = startFleet(home, port)
    try {
      await next.waitFor(`Connected to https://127.0.0.1:${port}`)
      expect(next.output()).toMatch(/admin password \(shown once\): \S+/)
      expect(next.output()).toMatch(/fleet CA fingerprint: sha256:[0-9a-f]{64}/)
    } finally {
      expect(await next.stop()).toBe(0)
    }
  }, 240_000)
})
