// A compose file deployed on the real Docker engine through the CLI's loader: every setting it names is
// checked on the containers with `docker inspect` and from inside them.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readStackFile } from '../../cli/commands/stack-file.ts'
import { createDockerRuntime } from '../../plugins/runtime-docker/index.ts'
import { thresh } from '../cli/cli.ts'
import { connectDocker, freePort, httpText, uniqueName } from '../support/docker.ts'

const FIXTURE = join(import.meta.dirname, '../fixtures/compose/busybox-app')
let docker: Docker
let runtime: ReturnType<typeof createDockerRuntime>
let dir: string
let filesDir: string
const created: string[] = []

beforeAll(async () => {
  docker = await connectDocker()
  dir = mkdtempSync(join(tmpdir(), 'thresh-compose-'))
  filesDir = mkdtempSync(join(tmpdir(), 'thresh-stack-files-'))
  cpSync(FIXTURE, dir, { recursive: true })
  runtime = createDockerRuntime({ docker, proxy: false, filesDir })
})

afterAll(async () => {
  for (const name of created) await runtime?.destroy(name).catch(() => {})
  rmSync(dir, { recursive: true, force: true })
  rmSync(filesDir, { recursive: true, force: true })
})

/** Runs a command in a container and returns what it printed (a TTY keeps the output unframed). */
async function exec(id: string, cmd: string[], user?: string): Promise<{ output: string; code: number }> {
  const run = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true, ...(user ? { User: user } : {}) })
  const stream = await run.start({ hijack: true, stdin: false, Tty: true })
  const chunks: Buffer[] = []
  await new Promise<void>((resolve) => {
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', resolve)
  })
  const info = await run.inspect()
  return { output: Buffer.concat(chunks).toString().trim(), code: info.ExitCode ?? -1 }
}

async function inspect(name: string, service: string): Promise<Docker.ContainerInspectInfo> {
  const state = await runtime.status(name)
  const id = state?.services.find((s) => s.name === service)?.containerId
  if (!id) throw new Error(`${service} has no container`)
  return docker.getContainer(id).inspect()
}

async function load(env: Record<string, string>) {
  const envFile = join(dir, 'test.env')
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n'))
  // --env-file replaces the .env beside the file; GREETING comes from it here.
  return readStackFile(join(dir, 'compose.yaml'), () => {}, { envFile })
}

describe('a compose stack on real Docker', () => {
  const name = uniqueName('tcompose')
  let webPort: number

  it('applies every setting the compose file names', async () => {
    webPort = await freePort()
    created.push(name)
    const { stack } = await load({ STACK_NAME: name, WEB_PORT: String(webPort), GREETING: 'hi from env-file' })
    const state = await runtime.deploy(stack)
    expect(state.error).toBeUndefined()
    expect(Object.fromEntries(state.services.map((s) => [s.name, s.status]))).toEqual({ migrate: 'stopped', api: 'running', web: 'running', worker: 'running' })
    // The migration ran to completion: the stack is running, not partial, now and when read back from Docker.
    expect(state.status).toBe('running')
    expect((await runtime.status(name))?.status).toBe('running')

    const api = await inspect(name, 'api')
    expect(api.HostConfig.RestartPolicy?.Name).toBe('unless-stopped')
    expect(api.HostConfig.CapAdd).toEqual(['NET_ADMIN'])
    expect(api.HostConfig.CapDrop).toEqual(['MKNOD'])
    expect(api.HostConfig.Memory).toBe(64 * 1024 * 1024)
    expect(api.HostConfig.NanoCpus).toBe(500_000_000)
    expect(api.HostConfig.Sysctls).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '80' })
    expect(api.Config.Healthcheck?.Test).toEqual(['CMD-SHELL', 'wget -q -O- http://127.0.0.1:8080/env.txt >/dev/null'])
    expect(api.Config.Healthcheck?.Retries).toBe(20)
    expect(api.State.Health?.Status).toBe('healthy')
    expect(api.Config.Env).toEqual(expect.arrayContaining(['FROM_ENV_FILE=yes', 'DB_HOST=db', 'ROLE=api', 'PRICE=$5', 'GREETING=hi from env-file']))
    expect(api.Config.Labels?.['com.example.tier']).toBe('backend')
    expect((api.Config as { StopTimeout?: number }).StopTimeout).toBe(5)
    expect(Object.keys(api.Config.ExposedPorts ?? {})).toContain('8080/tcp')

    // The secret: readable, read-only, its content exactly the file's; the config at its target.
    const secret = api.Mounts.find((m) => m.Destination === '/run/secrets/db_password')
    expect(secret?.RW).toBe(false)
    expect((await exec(api.Id, ['cat', '/run/secrets/db_password'])).output).toBe('correct horse battery staple')
    expect((await exec(api.Id, ['sh', '-c', 'echo x > /run/secrets/db_password'])).code).not.toBe(0)
    expect((await exec(api.Id, ['cat', '/etc/app.conf'])).output).toBe('listen = 8080')

    const web = await inspect(name, 'web')
    expect(web.HostConfig.RestartPolicy).toMatchObject({ Name: 'on-failure', MaximumRetryCount: 3 })
    expect(web.Config.Hostname).toBe('frontdoor')
    expect((web.Config as { StopSignal?: string }).StopSignal).toBe('SIGINT')
    const bind = web.Mounts.find((m) => m.Destination === '/www/static')
    expect(bind).toMatchObject({ Type: 'bind', Source: join(dir, 'static'), RW: false })
    expect(await httpText(`http://127.0.0.1:${webPort}/static/hello.txt`)).toBe('static file')
    // web reaches api by its alias on the extra network, and by its name on the stack's own.
    expect(await httpText(`http://127.0.0.1:${webPort}/cgi-bin/get?api.internal:8080/env.txt`)).toContain('ROLE=api')
    expect(await httpText(`http://127.0.0.1:${webPort}/cgi-bin/get?api:8080/env.txt`)).toContain('GREETING=hi from env-file')

    const worker = await inspect(name, 'worker')
    expect(worker.Config.User).toBe('1000:1000')
    expect(worker.Config.WorkingDir).toBe('/tmp')
    expect(worker.Config.Entrypoint).toEqual(['sh', '-c'])
    expect(worker.HostConfig.PidsLimit).toBe(50)
    expect(worker.HostConfig.ShmSize).toBe(32 * 1024 * 1024)
    expect((await exec(worker.Id, ['id', '-u'])).output).toBe('1000')
    // Mode 0440 owned by root: the worker's user 1000 may not read it, root may.
    expect((await exec(worker.Id, ['stat', '-c', '%a', '/run/secrets/db_password'])).output).toBe('440')
    expect((await exec(worker.Id, ['cat', '/run/secrets/db_password'])).code).not.toBe(0)
    expect((await exec(worker.Id, ['cat', '/run/secrets/db_password'], 'root')).output).toBe('correct horse battery staple')

    // The one-shot migration ran to completion before api started.
    const migrate = await inspect(name, 'migrate')
    expect(migrate.State.ExitCode).toBe(0)
    expect(new Date(migrate.State.FinishedAt).getTime()).toBeLessThanOrEqual(new Date(api.State.StartedAt).getTime())
  })

  it('recreates only the services that use a secret when its file changes', async () => {
    const before = await runtime.status(name)
    const ids = Object.fromEntries(before!.services.map((s) => [s.name, s.containerId]))
    writeFileSync(join(dir, 'secrets/db_password.txt'), 'rotated')
    const { stack } = await load({ STACK_NAME: name, WEB_PORT: String(webPort), GREETING: 'hi from env-file' })
    const diff = await runtime.plan(stack)
    expect(diff.recreate.sort()).toEqual(['api', 'worker'])
    const state = await runtime.deploy(stack)
    expect(state.error).toBeUndefined()
    const after = Object.fromEntries(state.services.map((s) => [s.name, s.containerId]))
    expect(after.web).toBe(ids.web)
    expect(after.api).not.toBe(ids.api)
    const api = await inspect(name, 'api')
    expect((await exec(api.Id, ['cat', '/run/secrets/db_password'])).output).toBe('rotated')
    // The spec label Docker keeps holds the digest, never the content.
    expect(JSON.stringify(api.Config.Labels)).not.toContain('rotated')
    expect(JSON.stringify(api.Config.Labels)).not.toContain('correct horse')
  })
})

describe('a reverse proxy in front of two apps', () => {
  it('starts the apps before the proxy, which reaches each by its alias on the shared backend network', async () => {
    const name = uniqueName('tproxy')
    created.push(name)
    const port = await freePort()
    // Through the real CLI: `thresh stack up compose.yaml` on the local engine, variables from the shell.
    const env = { STACK_NAME: name, PROXY_PORT: String(port), THRESH_HOME: mkdtempSync(join(tmpdir(), 'thresh-cli-')) }
    const up = await thresh(['stack', 'up', join(import.meta.dirname, '../fixtures/compose/proxy-two-apps/compose.yaml')], env)
    expect(up.code, up.stderr).toBe(0)
    expect(up.stdout).toContain(`Stack ${name} is running (3 services).`)
    expect(await httpText(`http://127.0.0.1:${port}/cgi-bin/get?one.internal:8080/env.txt`)).toContain('APP=one')
    expect(await httpText(`http://127.0.0.1:${port}/cgi-bin/get?two.internal:8080/version.txt`)).toBe('2')
    const one = await inspect(name, 'app-one')
    // app-one joined only the backend network: the stack's own network is not among its networks.
    expect(Object.keys(one.NetworkSettings.Networks)).toEqual([`${name}_net-backend`])
    expect(one.NetworkSettings.Networks[`${name}_net-backend`]!.Aliases).toEqual(expect.arrayContaining(['app-one', 'one.internal']))
    await runtime.destroy(name)
    expect((await docker.listNetworks({ filters: JSON.stringify({ label: [`thresh.stack=${name}`] }) })).length).toBe(0)
  })
})
