// Compose files as stacks: the corpus of real-shaped compose files validates and plans, and each
// compose form (ports, volumes, environment, interpolation, unsupported keys) converts as users expect.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readStackFile } from '../../cli/commands/stack-file.ts'
import { convertCompose, interpolate } from '../../lib/stack/compose/index.ts'
import { planStack, resolveStack } from '../../lib/stack/index.ts'
import { stackFromArguments } from '../../plugins/agent-commands/stack-arguments.ts'
import { deployStackArguments } from '../../plugins/hub-fleet/stack-payload.ts'
import { thresh } from '../cli/cli.ts'

const CORPUS = join(import.meta.dirname, '../fixtures/compose')
const compose = (text: string, options: Parameters<typeof convertCompose>[1] = {}) => convertCompose(text, { name: 't', ...options })
const okStack = (text: string, options: Parameters<typeof convertCompose>[1] = {}) => {
  const result = compose(text, options)
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return result
}
const svc = (text: string, options: Parameters<typeof convertCompose>[1] = {}) => okStack(text, options).stack.services[0]!

describe('the corpus of compose files', () => {
  const dirs = readdirSync(CORPUS).sort()
  it('holds at least 15 real-shaped setups', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(15)
  })

  for (const dir of dirs) {
    it(`${dir} validates and plans`, async () => {
      const file = readdirSync(join(CORPUS, dir)).find((f) => /^(docker-)?compose\.ya?ml$/.test(f))!
      const warnings: string[] = []
      // The one runnable fixture needs its stack name and port from the shell, as its deploy test gives them.
      const shell = dir === 'busybox-app' ? { STACK_NAME: 'corpus', WEB_PORT: '18081' } : {}
      Object.assign(process.env, shell)
      const { stack } = await readStackFile(join(CORPUS, dir, file), (line) => warnings.push(line)).finally(() => {
        for (const key of Object.keys(shell)) delete process.env[key]
      })
      const plan = planStack(stack)
      expect(plan.services.length).toBe(stack.services.length)
      expect(plan.levels.flat().sort()).toEqual(stack.services.map((s) => s.name).sort())
      expect(warnings.filter((w) => w.includes('not supported'))).toEqual([])
    })
  }

  it('wordpress waits for a healthy MySQL and both read their secrets from files', async () => {
    const { stack } = await readStackFile(join(CORPUS, 'wordpress-mysql/compose.yaml'), () => {})
    const wp = stack.services.find((s) => s.name === 'wordpress')!
    expect(wp.dependsOnConditions).toEqual({ db: 'service_healthy' })
    expect(wp.ports[0]).toMatchObject({ host: 8080, container: 80 })
    expect(stack.secrets?.db_password?.content).toBe('wppw\n')
    expect(stack.services.find((s) => s.name === 'db')!.secrets!.map((s) => s.target)).toEqual(['/run/secrets/db_root_password', '/run/secrets/db_password'])
  })

  it('gitea takes its password from the .env beside the file, and nextcloud its variables from env_file', async () => {
    const gitea = (await readStackFile(join(CORPUS, 'gitea-postgres/compose.yaml'), () => {})).stack
    expect(gitea.services.find((s) => s.name === 'db')!.env.POSTGRES_PASSWORD).toBe('from-dot-env')
    expect(gitea.services.find((s) => s.name === 'server')!.containerName).toBe('gitea')
    const nextcloud = (await readStackFile(join(CORPUS, 'nextcloud/docker-compose.yml'), () => {})).stack
    expect(nextcloud.services.find((s) => s.name === 'app')!.env).toMatchObject({ MYSQL_USER: 'nextcloud', MYSQL_HOST: 'db' })
    expect(nextcloud.services.find((s) => s.name === 'cron')!.entrypoint).toEqual(['/cron.sh'])
    expect(planStack(nextcloud).levels).toEqual([['db', 'redis'], ['app', 'cron']])
  })

  it('minio runs its bucket job to completion before the app, with ports from a range', async () => {
    const { stack } = await readStackFile(join(CORPUS, 'minio-init/compose.yaml'), () => {})
    expect(stack.services.find((s) => s.name === 'app')!.dependsOnConditions).toEqual({ createbuckets: 'service_completed_successfully' })
    expect(stack.services.find((s) => s.name === 'minio')!.ports.map((p) => `${p.host}:${p.container}`)).toEqual(['9000:9000', '9001:9001'])
    expect(stack.services.find((s) => s.name === 'createbuckets')!.entrypoint![2]).toContain('$(cat /run/secrets/minio_password)')
  })
})

describe('a compose file deployed through a hub', () => {
  it('refuses relative bind mounts (the node cannot see them) and sends secret content, not paths', async () => {
    Object.assign(process.env, { STACK_NAME: 'remote', WEB_PORT: '18082' })
    const attempt = readStackFile(join(CORPUS, 'busybox-app/compose.yaml'), () => {}, { remote: true }).finally(() => {
      delete process.env.STACK_NAME
      delete process.env.WEB_PORT
    })
    await expect(attempt).rejects.toThrow('services.web.volumes[0] (line 63, column 9): The bind mount "./static" is relative to the compose file, which the node cannot see')
    const { definition } = await readStackFile(join(CORPUS, 'wordpress-mysql/compose.yaml'), () => {}, { remote: true })
    expect(definition.secrets).toEqual({ db_root_password: { content: 'rootpw\n' }, db_password: { content: 'wppw\n' } })
  })
})

describe('the hub-to-node payload', () => {
  it('carries every compose setting to the node unchanged', async () => {
    Object.assign(process.env, { STACK_NAME: 'payload', WEB_PORT: '18083' })
    const { stack } = await readStackFile(join(CORPUS, 'busybox-app/compose.yaml'), () => {}).finally(() => {
      delete process.env.STACK_NAME
      delete process.env.WEB_PORT
    })
    const args = deployStackArguments(resolveStack(stack), 'id-1', 'acct') as unknown as Record<string, unknown>
    const { stack: received } = stackFromArguments(JSON.parse(JSON.stringify(args)))
    expect(received).toEqual(stack)
  })
})

describe('compose forms', () => {
  it('reads ports in the short and long syntax: ranges, bind addresses, udp, and container-only ports as exposed', () => {
    const result = okStack(`services:
  a:
    image: x
    ports:
      - "3000-3001:4000-4001"
      - "127.0.0.1:5353:53/udp"
      - "[::1]:6001:6001"
      - 7000
      - target: 80
        published: "8080"
        host_ip: 127.0.0.1
        protocol: tcp
    expose: ["9000-9001", "53/udp"]
`)
    const a = result.stack.services[0]!
    expect(a.ports.map((p) => `${p.hostIp}|${p.host}:${p.container}/${p.protocol}`)).toEqual([
      '|3000:4000/tcp', '|3001:4001/tcp', '127.0.0.1|5353:53/udp', '::1|6001:6001/tcp', '127.0.0.1|8080:80/tcp',
    ])
    expect(a.expose).toEqual(['7000/tcp', '9000/tcp', '9001/tcp', '53/udp'])
    expect(result.warnings.map((w) => w.path)).toEqual(['services.a.ports[3]'])
  })

  it('reads environment as a map or a list; a name alone takes the variable from the shell or .env', () => {
    expect(svc('services:\n  a:\n    image: x\n    environment: [A=1, B, "C=x=y"]\n', { env: { B: 'from-shell' } }).env).toEqual({ A: '1', B: 'from-shell', C: 'x=y' })
    expect(svc('services:\n  a:\n    image: x\n    environment:\n      A: 1\n      B: true\n      C:\n', { env: {} }).env).toEqual({ A: '1', B: 'true' })
  })

  it('interpolates ${VAR}, defaults, required variables and $$', () => {
    expect(interpolate('${A}-${B:-def}-${C-unset}-$$-$A', { A: 'a', C: '' }).value).toBe('a-def--$-a')
    expect(interpolate('${X:-${A}}', { A: 'nested' }).value).toBe('nested')
    const result = compose('services:\n  a:\n    image: ${IMAGE:?name the image in IMAGE}\n', { env: {} })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.errors[0]).toMatchObject({ path: 'services.a.image', line: 3, message: 'IMAGE is required: name the image in IMAGE' })
  })

  it('splits string commands as Compose does and keeps list ones', () => {
    const a = svc(`services:\n  a:\n    image: x\n    command: bundle exec "rails server" -b '0.0.0.0'\n    entrypoint: [/bin/tini, --]\n`)
    expect(a.command).toEqual(['bundle', 'exec', 'rails server', '-b', '0.0.0.0'])
    expect(a.entrypoint).toEqual(['/bin/tini', '--'])
  })

  it('turns a healthcheck off with disable: true and keeps the timings of one given', () => {
    expect(svc('services:\n  a:\n    image: x\n    healthcheck:\n      disable: true\n').healthcheck?.test).toEqual(['NONE'])
    expect(svc('services:\n  a:\n    image: x\n    healthcheck:\n      test: curl -f localhost\n      interval: 1m30s\n      start_period: 5s\n      retries: 4\n').healthcheck).toEqual({
      test: ['CMD-SHELL', 'curl -f localhost'], intervalMs: 90_000, timeoutMs: 5000, retries: 4, startPeriodMs: 5000,
    })
  })

  it('resolves relative bind mounts from the file for local deploys and refuses them for remote ones', () => {
    const text = 'services:\n  a:\n    image: x\n    volumes:\n      - ./data:/data:ro\n      - type: bind\n        source: ../shared\n        target: /shared\n'
    expect(svc(text, { baseDir: '/home/me/app' }).volumes).toEqual([
      { name: '/home/me/app/data', path: '/data', readOnly: true, bind: true },
      { name: '/home/me/shared', path: '/shared', readOnly: false, bind: true },
    ])
    const remote = compose(text)
    expect(remote.ok).toBe(false)
    if (!remote.ok) expect(remote.errors[0]).toMatchObject({ path: 'services.a.volumes[0]', line: 5, message: expect.stringContaining('use an absolute path on the node') })
  })

  it('refuses a named volume the file does not declare', () => {
    const result = compose('services:\n  a:\n    image: x\n    volumes: ["data:/data"]\n')
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.errors[0]!.message).toBe('The volume "data" is not declared in the top-level volumes')
  })

  it('reports every unsupported key with its path, line and what to do, and leaves them out with ignoreUnsupported', () => {
    const text = 'services:\n  app:\n    build: .\n    image: me/app:1\n    privileged: true\n    x-mine: ok\n    deploy:\n      replicas: 3\nx-top: fine\n'
    const result = compose(text)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.errors.map((e) => [e.path, e.line, e.column])).toEqual([
      ['services.app.build', 3, 5],
      ['services.app.privileged', 5, 5],
      ['services.app.deploy.replicas', 8, 7],
    ])
    expect(result.errors[0]!.message).toBe(
      'build is not supported: thresh deploys images only: build the image, push it to a registry and name it in image:, or pass --ignore-unsupported to leave it out',
    )
    const ignored = compose(text, { ignoreUnsupported: true })
    expect(ignored.ok).toBe(true)
    expect(ignored.warnings.map((w) => w.path)).toEqual(['services.app.build', 'services.app.privileged', 'services.app.deploy.replicas'])
  })

  it('points a YAML syntax error and a problem found after conversion at their line', () => {
    const bad = compose('services:\n  a:\n    image: x\n   ports: [1]\n')
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.errors[0]!.message).toMatch(/^Invalid YAML at line 4, column \d+/)
    const late = compose('services:\n  a:\n    image: x\n    cap_add: [not-a-cap]\n')
    expect(late.ok).toBe(false)
    if (!late.ok) expect(late.errors[0]).toMatchObject({ path: 'services.a.capAdd[0]', line: 4 })
  })

  it('refuses an alias that contains itself instead of walking it forever', () => {
    const looped = compose('x-loop: &a [*a, *a]\nservices:\n  a:\n    image: x\n')
    expect(looped.ok).toBe(false)
    if (!looped.ok) expect(looped.errors[0]!.message).toContain('refers to a node that contains it')
    const shared = compose('x-env: &env {A: "1"}\nservices:\n  a:\n    image: x\n    environment: *env\n  b:\n    image: x\n    environment: *env\n')
    expect(shared.ok).toBe(true)
  })

  it('gives a secret the file’s content, a config its target, and refuses files where none can be read', () => {
    const text = 'services:\n  a:\n    image: x\n    secrets: [s]\n    configs: [{source: c, target: /etc/c.conf}]\nsecrets:\n  s:\n    file: ./s.txt\nconfigs:\n  c:\n    content: "k = v"\n'
    const local = okStack(text, { readFile: (p) => `content of ${p}` })
    expect(local.stack.secrets).toEqual({ s: { content: 'content of ./s.txt' } })
    expect(local.stack.services[0]!.configs).toEqual([{ source: 'c', target: '/etc/c.conf' }])
    const hub = compose(text)
    expect(hub.ok).toBe(false)
    if (!hub.ok) expect(hub.errors[0]!.message).toContain('deploy the compose file with the thresh CLI')
  })
})

describe('thresh stack convert and validate on a compose file', () => {
  it('prints the thresh JSON with secrets as file references, and validate lists unsupported keys with lines', async () => {
    const converted = await thresh(['stack', 'convert', join(CORPUS, 'wordpress-mysql/compose.yaml')], {})
    expect(converted.code, converted.stderr).toBe(0)
    const definition = JSON.parse(converted.stdout)
    expect(definition.name).toBe('wordpress-mysql')
    expect(definition.secrets).toEqual({ db_root_password: { file: 'db_root_password.txt' }, db_password: { file: 'db_password.txt' } })
    expect(definition.services.wordpress.depends_on).toEqual({ db: { condition: 'service_healthy' } })
    expect(converted.stdout).not.toContain('wppw')

    const invalid = await thresh(['stack', 'validate', join(CORPUS, '../stacks-compose-invalid.yaml')], {})
    expect(invalid.code).not.toBe(0)
    expect(invalid.stderr).toContain('services.app.build (line 5, column 5): build is not supported')
    const ignored = await thresh(['stack', 'validate', '--ignore-unsupported', join(CORPUS, '../stacks-compose-invalid.yaml')], {})
    expect(ignored.code, ignored.stderr).toBe(0)
    expect(ignored.stderr).toContain('warning: services.app.build (line 5, column 5)')
  })
})
