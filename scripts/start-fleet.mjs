// `npm start`: the main job — a hub with its embedded, durable storage and an agent on this machine
// connected to it. The first start chooses the admin password (printed once) and an agent key.
// Extra arguments go to the hub: `npm start -- --port 7443`.
import { spawn, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { homedir, hostname } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const cli = join(root, 'bin/thresh.mjs')
const home = process.env.THRESH_HOME ?? join(homedir(), '.thresh')
const agentHome = join(home, 'local-agent')
const hubArgs = process.argv.slice(2)
const portIndex = hubArgs.indexOf('--port')
const port = portIndex >= 0 ? hubArgs[portIndex + 1] : (process.env.THRESH_PORT ?? '7200')
const hubUrl = `https://127.0.0.1:${port}`
const caPath = join(home, 'tls/cert.pem')

const say = (line) => process.stdout.write(`[start] ${line}\n`)
const die = (line) => {
  process.stderr.write(`[thresh] ${line}\n`)
  stopAll(1)
}

const hubEnv = { ...process.env, THRESH_HOME: home }
let firstPassword
if (!existsSync(join(home, 'db')) && !process.env.THRESH_ADMIN_PASSWORD) {
  firstPassword = randomBytes(12).toString('base64url')
  hubEnv.THRESH_ADMIN_PASSWORD = firstPassword
}

const children = []
function run(name, env, args) {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] })
  child.on('exit', (code) => {
    if (!stopping) die(`The ${name} exited (${code ?? 'signal'}); stopping.`)
  })
  children.push(child)
  return child
}
let stopping = false
function stopAll(code) {
  stopping = true
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code))
}
process.on('SIGINT', () => stopAll(0))
process.on('SIGTERM', () => stopAll(0))

function hubCall(method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined
    const req = request(`${hubUrl}${path}`, {
      method,
      ca: readFileSync(caPath),
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => {
        const json = text ? JSON.parse(text) : {}
        if (res.statusCode >= 400) reject(new Error(json.message ?? `${method} ${path} answered ${res.statusCode}`))
        else resolve(json)
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

async function waitForHub() {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      if (existsSync(caPath)) return await hubCall('GET', '/health')
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    if (Date.now() > deadline) throw new Error(`the hub did not answer at ${hubUrl}/health within 60 s`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

function agentHasKey() {
  try {
    const config = JSON.parse(readFileSync(join(agentHome, 'agent.json'), 'utf8'))
    return Boolean(config.apiKey ?? config['api-key'])
  } catch {
    return false
  }
}

run('hub', hubEnv, ['run', '--role', 'hub', ...hubArgs])
try {
  await waitForHub()
} catch (error) {
  die(`The hub did not start: ${error.message}`)
}

if (!agentHasKey()) {
  const password = firstPassword ?? process.env.THRESH_ADMIN_PASSWORD
  if (!password) die(`The local agent has no key yet: set THRESH_ADMIN_PASSWORD to the admin password of ${hubUrl} and run npm start again.`)
  try {
    const { accessToken } = await hubCall('POST', '/api/auth/login', { username: process.env.THRESH_ADMIN_USER ?? 'admin', password })
    const { key } = await hubCall('POST', '/api/keys', { type: 'agent', name: `local-${hostname()}` }, accessToken)
    const agentEnv = { ...process.env, THRESH_HOME: agentHome }
    execFileSync(process.execPath, [cli, 'agent', 'config', 'set', 'midtier-url', hubUrl], { env: agentEnv, stdio: 'ignore' })
    execFileSync(process.execPath, [cli, 'agent', 'config', 'set', 'api-key', key], { env: agentEnv, stdio: 'ignore' })
    say(`created agent key 'local-${hostname()}' for the local agent (${join(agentHome, 'agent.json')})`)
  } catch (error) {
    die(`Could not create a key for the local agent: ${error.message}`)
  }
}

// The hub's certificate is self-signed: trust exactly it, rather than turning verification off.
run('agent', { ...process.env, THRESH_HOME: agentHome, NODE_EXTRA_CA_CERTS: caPath }, ['run', '--role', 'agent'])
say(`hub: ${hubUrl}  (dashboard at ${hubUrl}/, API docs at ${hubUrl}/api/docs)`)
if (firstPassword) say(`admin password (shown once): ${firstPassword}  — user 'admin'`)
say('a local agent is connecting to the hub; Ctrl-C stops both')
