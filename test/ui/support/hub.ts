// Starts a real hub process (`thresh run --role hub --no-tls`) for the dashboard tests, with a temp
// THRESH_HOME and a known admin password, and signs in over the public REST API.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, repoRoot, spawnThresh, tempHome, waitForHttp, type ThreshProcess } from '../../support/process.ts'

export interface TestHub {
  url: string
  home: string
  password: string
  proc: ThreshProcess
  /** A fresh CLI token for REST calls made by the test itself. */
  token(): Promise<string>
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>
  stop(): Promise<void>
}

const ADMIN_PASSWORD = 'ui-test-password-1234'

/**
 * `oneTimePassword`: start like a fresh install, without THRESH_ADMIN_PASSWORD, so the hub generates and prints one.
 * `env`: more settings (THRESH_REGISTRATION_BURST for a test that registers a whole fleet with one key).
 */
export async function startHub(options: { oneTimePassword?: boolean; env?: Record<string, string> } = {}): Promise<TestHub> {
  const home = tempHome('thresh-ui-')
  const port = await freePort()
  const args = ['run', '--role', 'hub', '--no-tls', '--host', '127.0.0.1', '--port', String(port)]
  // Until roles/hub.ts lists the API and the dashboard, load them the way any third-party plugin is loaded.
  const role = readFileSync(join(repoRoot, 'roles/hub.ts'), 'utf8')
  const missing = [
    ...(role.includes('hub-api') ? [] : ['storage-embedded', 'hub-auth', 'transport-signalr', 'hub-fleet', 'hub-api']),
    ...(role.includes('hub-ui') ? [] : ['hub-ui']),
  ]
  if (missing.length) {
    const config = join(home, 'ui-test.json')
    writeFileSync(config, JSON.stringify({ plugins: missing.map((name) => join(repoRoot, `dist/plugins/${name}/index.js`)) }))
    args.push('--config', config)
  }
  const env: Record<string, string> = { THRESH_HOME: home, THRESH_ADMIN_PASSWORD: options.oneTimePassword ? '' : ADMIN_PASSWORD, THRESH_LOG_LEVEL: 'info', ...options.env }
  const proc = spawnThresh('node', args, env)
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/health`, proc)
  // A hub that does not read THRESH_ADMIN_PASSWORD prints a one-time password instead.
  await new Promise((r) => setTimeout(r, 100))
  const printed = /One-time password: (\S+)/.exec(proc.output())?.[1]
  const password = printed ?? ADMIN_PASSWORD
  let cached: string | undefined

  const hub: TestHub = {
    url,
    home,
    password,
    proc,
    async token() {
      const response = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      })
      if (!response.ok) throw new Error(`login answered ${response.status}: ${await response.text()}\n${proc.output()}`)
      return ((await response.json()) as { accessToken: string }).accessToken
    },
    async api(method, path, body) {
      cached ??= await hub.token()
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${cached}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
      return (text ? JSON.parse(text) : null) as never
    },
    async stop() {
      await proc.stop()
      rmSync(home, { recursive: true, force: true })
    },
  }
  return hub
}
