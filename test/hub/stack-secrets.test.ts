// Stack secrets through a hub on PostgreSQL and a real Docker node: the content reaches the container,
// read-only, while the hub's database, its command records and its API hold no plaintext; and a node
// refuses bind mounts outside its allowed-bind-paths.
import { statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { convertCompose } from '../../lib/stack/compose/index.ts'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { connectDocker, uniqueName } from '../support/docker.ts'
import { connectDockerNode, databaseUrl, dropSchema, eventually, startHub, type TestAgent, type TestHub } from './support.ts'

const SECRET = 'tr0ub4dor&3-not-in-any-table'
let hub: TestHub
let token: string
let agent: TestAgent
let docker: Docker
let runtime: ReturnType<typeof createDockerRuntime>
let account: string
const stacks: string[] = []

beforeAll(async () => {
  docker = await connectDocker()
  runtime = createDockerRuntime({ docker, proxy: false, filesDir: join(tmpdir(), uniqueName('thresh-files')) })
  hub = await startHub({ storage: 'postgres', config: { commandTimeout: '60s', offlineAfter: '10m' } })
  token = await hub.login()
  const node = await connectDockerNode(hub, token, uniqueName('secret-node'), runtime, { allowedBindPaths: ['/srv/thresh-allowed'] })
  agent = node.agent
  account = node.account
  // The node is known to the hub once its registration is stored.
  await eventually(async () => JSON.stringify((await hub.request('GET', '/api/nodes', { token })).body).includes(agent.hostname), 30_000, 'the node to register')
}, 120_000)

afterAll(async () => {
  for (const name of stacks) await runtime?.destroy(name, { account }).catch(() => {})
  await agent?.close()
  await hub?.stop()
  await dropSchema(hub?.schema)
})

describe('stack secrets through a hub', () => {
  it('mounts the secret on the node and keeps no plaintext in the database, the commands or the API', async () => {
    const name = uniqueName('hubsecret')
    stacks.push(name)
    // What `thresh stack up compose.yaml --hub` sends: the converted definition with the file's content.
    const converted = convertCompose(
      `name: ${name}\nservices:\n  app:\n    image: thresh-test/busybox:1\n    secrets: [api_key]\nsecrets:\n  api_key:\n    file: ./api_key.txt\n`,
      { readFile: () => SECRET },
    )
    if (!converted.ok) throw new Error(JSON.stringify(converted.errors))
    const deployed = await hub.request('POST', '/api/stacks/deploy?wait=true', { token, body: { ...converted.definition, targetNode: agent.hostname } })
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200)
    expect(deployed.body.status).toBe('running')

    const state = await runtime.status(name, { account })
    const id = state!.services[0]!.containerId!
    const info = await docker.getContainer(id).inspect()
    expect(info.Mounts.find((m) => m.Destination === '/run/secrets/api_key')?.RW).toBe(false)
    const exec = await docker.getContainer(id).exec({ Cmd: ['cat', '/run/secrets/api_key'], AttachStdout: true, Tty: true })
    const stream = await exec.start({ hijack: true, stdin: false, Tty: true })
    let output = ''
    await new Promise<void>((resolve) => {
      stream.on('data', (c: Buffer) => (output += c.toString()))
      stream.on('end', resolve)
    })
    expect(output.trim()).toBe(SECRET)

    const shown = await hub.request('GET', `/api/stacks/${name}`, { token })
    expect(shown.body.secrets).toEqual(['api_key'])
    expect(JSON.stringify(shown.body)).not.toContain(SECRET)

    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      const dump = await sql.unsafe(
        `select (select json_agg(s) from "${hub.schema}".stacks s)::text as stacks, (select json_agg(c) from "${hub.schema}".commands c)::text as commands`,
      )
      expect(dump[0]!.stacks).toContain('api_key')
      expect(dump[0]!.stacks).toContain('v1:')
      expect(dump[0]!.stacks).not.toContain(SECRET)
      expect(dump[0]!.commands).toContain('deploy_stack')
      expect(dump[0]!.commands).not.toContain(SECRET)
    } finally {
      await sql.end()
    }
    // The key was made on first use, readable by the hub's user only.
    expect(statSync(join(hub.home, 'stack-secrets.key')).mode & 0o777).toBe(0o600)
  })

  it('refuses a bind mount outside the node’s allowed-bind-paths and says how to allow it', async () => {
    const name = uniqueName('hubbind')
    const deployed = await hub.request('POST', '/api/stacks/deploy?wait=true', {
      token,
      body: { name, targetNode: agent.hostname, services: { app: { image: 'thresh-test/busybox:1', volumes: ['/etc:/host-etc:ro'] } } },
    })
    expect(JSON.stringify(deployed.body)).toContain('app: /etc')
    expect(JSON.stringify(deployed.body)).toContain('allowed-bind-paths')
    expect(await runtime.status(name, { account })).toBeUndefined()
  })

  it('converts compose text for the dashboard, answering each problem with its line, and refuses files it cannot read', async () => {
    const good = await hub.request('POST', '/api/stacks/convert', { token, body: { compose: 'name: conv\nservices:\n  web:\n    image: nginx\n    restart: always\n' } })
    expect(good.status).toBe(200)
    expect(good.body.definition).toEqual({ name: 'conv', services: { web: { image: 'nginx', restart: 'always' } } })
    const bad = await hub.request('POST', '/api/stacks/convert', { token, body: { compose: 'name: conv\nservices:\n  web:\n    image: nginx\n    build: .\n    env_file: app.env\n' } })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toBe('stack_invalid')
    expect(bad.body.details).toEqual([
      expect.objectContaining({ path: 'services.web.build', line: 5, column: 5 }),
      expect.objectContaining({ path: 'services.web.env_file', line: 6, message: expect.stringContaining('deploy the compose file with the thresh CLI') }),
    ])
    const ignored = await hub.request('POST', '/api/stacks/convert', { token, body: { compose: 'name: conv\nservices:\n  web:\n    image: nginx\n    build: .\n', ignoreUnsupported: true } })
    expect(ignored.status).toBe(200)
    expect(ignored.body.warnings).toEqual([expect.objectContaining({ path: 'services.web.build', line: 5 })])
  })
})
