// `npm start`: the main job — a hub with its embedded, durable storage and an agent on this machine
// connected to it. The first start chooses the admin password (printed once) and an agent key.
// Extra arguments go to the hub: `npm start -- --port 7443`. The agent listens on a Unix socket in its
// own THRESH_HOME (no port to collide), and every run points it at this run's hub URL and pins the
// hub's fleet CA (no NODE_EXTRA_CA_CERTS, no tls-verify false).
import { spawn, execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { homedir, hostname } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const cli = join(root, 'bin/thresh.mjs')
const home = process.env.THRESH_HOME ?? join(homedir(), '.thresh')
const agentHome = join(home, 'local-agent')
const hubArgs = process.argv.slice(2)
const portIndex = hubArgs.findIndex((a) => a === '--port' || a.startsWith('--port='))
const port = portIndex < 0 ? (process.env.THRESH_PORT || '7200') : hubArgs[portIndex].includes('=') ? hubArgs[portIndex].split('=')[1] : hubArgs[portIndex + 1]
const hubUrl = `https://127.0.0.1:${port}`
const caPath = join(home, 'tls/ca.pem')

const say = (line) => process.stdout.write(`[start] ${line}\n`)
const die = (line) => {
  process.stderr.write(`[thresh] ${line}\n`)
  stopAll(1)
}
/** For the main flow: stop everything and go no further. */
const fatal = (line) => {
  die(line)
  return new Promise(() => {})
}

function agentHasKey() {
  try {
    const config = JSON.parse(readFileSync(join(agentHome, 'agent.json'), 'utf8'))
    return Boolean(config.apiKey ?? config['api-key'])
  } catch {
    return false
  }
}

// Until the local agent has its key, this run proposes the first admin password. The hub uses it only
// if it has no users yet (a first start that failed created none); otherwise the login below says so.
const hubEnv = { ...process.env, THRESH_HOME: home }
const needsKey = !agentHasKey()
let proposedPassword
if (needsKey && !process.env.THRESH_ADMIN_PASSWORD) {
  proposedPassword = randomBytes(12).toString('base64url')
  hubEnv.THRESH_ADMIN_PASSWORD = proposedPassword
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
    // The fleet CA the hub made in THRESH_HOME, and nothing else, is trusted for it.
    const req = request(`${hubUrl}${path}`, {
      method,
      ca: readFileSync(caPath),
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => {
        const json = text ? JSON.parse(text) : {}
        if (res.statusCode >= 400) reject(Object.assign(new Error(json.message ?? `${method} ${path} answered ${res.statusCode}`), { status: res.statusCode }))
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

run('hub', hubEnv, ['run', '--role', 'hub', ...hubArgs])
try {
  await waitForHub()
} catch (error) {
  await fatal(`The hub did not start: ${error.message}`)
}

const agentEnv = { ...process.env, THRESH_HOME: agentHome, THRESH_PORT: '' }
const setAgent = (key, value) => execFileSync(process.execPath, [cli, 'agent', 'config', 'set', key, value], { env: agentEnv, stdio: 'ignore' })
let shownPassword
if (needsKey) {
  const password = process.env.THRESH_ADMIN_PASSWORD || proposedPassword
  try {
    const { accessToken } = await hubCall('POST', '/api/auth/login', { username: process.env.THRESH_ADMIN_USER ?? 'admin', password })
    const { key } = await hubCall('POST', '/api/keys', { type: 'agent', name: `local-${hostname()}` }, accessToken)
    setAgent('api-key', key)
    say(`created agent key 'local-${hostname()}' for the local agent (${join(agentHome, 'agent.json')})`)
    if (password === proposedPassword) shownPassword = password
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      await fatal(`The local agent has no key yet, and the hub already has an admin whose password this run does not know: run npm start again with THRESH_ADMIN_PASSWORD set to it (lost? thresh admin reset-password, with THRESH_HOME=${home}).`)
    }
    await fatal(`Could not create a key for the local agent: ${error.message}`)
  }
}
// Every run: this run's hub URL and the hub's fleet CA, pinned.
const ca = readFileSync(caPath, 'utf8')
const fingerprint = `sha256:${createHash('sha256').update(Buffer.from(ca.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')).digest('hex')}`
setAgent('midtier-url', hubUrl)
setAgent('hub-fingerprint', fingerprint)

run('agent', agentEnv, ['run', '--role', 'agent'])
say(`hub: ${hubUrl}  (dashboard at ${hubUrl}/, API docs at ${hubUrl}/api/docs)`)
say(`fleet CA fingerprint: ${fingerprint}  — log in with: thresh auth login --hub ${hubUrl} --fingerprint ${fingerprint}`)
if (shownPassword) say(`admin password (shown once): ${shownPassword}  — user 'admin'`)
say('a local agent is connecting to the hub; Ctrl-C stops both')
