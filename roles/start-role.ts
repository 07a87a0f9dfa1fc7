// Starts a role: resolve config in two passes (selectors and the plugin list, then every plugin's own
// settings) -> set the plugins up in order -> serve. The returned `stop()` tears down in reverse.
import { Hono } from 'hono'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { homedir } from 'node:os'
import process from 'node:process'
import { dirname, isAbsolute, resolve } from 'node:path'
import {
  collectFields,
  commonConfigFields,
  createThresh,
  isRoleChoice,
  resolveConfig,
  ThreshError,
  type ConfigFields,
  type Logger,
  type PluginFactory,
  type ResolveConfigInput,
  type RoleDefinition,
  type ServerCapabilities,
  type Thresh,
  type ThreshConfig,
  type ThreshPlugin,
} from '../core/index.ts'
import { loadRuntime } from '../adapters/index.ts'
import { secureDataDir } from '../lib/data-dir.ts'
import { createLogger } from '../lib/logger.ts'
import { installErrorHandlers } from '../lib/http/errors.ts'
import { localNames, loadTlsMaterial, type TlsMaterial } from '../lib/tls.ts'
import { loadRole, roleNames } from './index.ts'

export interface StartRoleOptions {
  role: string
  configPath?: string
  /** CLI flags, the strongest config source. */
  flags?: Record<string, unknown>
  env?: Record<string, string | undefined>
  /** Plugins appended after the role's and the config's own (tests, embedding). */
  plugins?: ThreshPlugin<any>[]
  /** Only these of the role's plugins, none from config, and no server: a tool working on a role's data (`thresh admin`). */
  only?: string[]
}

export interface RunningRole {
  url: string
  port: number
  config: ThreshConfig
  thresh: Thresh
  logger: Logger
  stop(reason?: string): Promise<void>
}

/** The fields every role has, with the role list taken from `roles/`. */
export function baseFields(): ConfigFields {
  return { ...commonConfigFields, role: { ...commonConfigFields.role!, oneOf: roleNames } }
}

/**
 * Every setting a role can take: the common fields, its selectors, and what each of its plugins
 * declares (every candidate of a choice, so help and `agent config` can list them all).
 */
export async function roleFields(role: RoleDefinition, options: { except?: string[] } = {}): Promise<ConfigFields> {
  const factories: PluginFactory[] = []
  for (const entry of role.plugins) {
    if (options.except?.includes(entry.name)) continue
    if (isRoleChoice(entry)) for (const load of Object.values(entry.from)) factories.push(await load())
    else factories.push(await entry.load())
  }
  return { ...baseFields(), ...role.fields, ...pluginFields(factories.map((factory) => factory({}))) }
}

/** The fields the plugins declare; a candidate of a choice not taken may share a name with the one taken. */
function pluginFields(plugins: ThreshPlugin<any>[]): ConfigFields {
  const fields: ConfigFields = {}
  for (const plugin of plugins) Object.assign(fields, collectFields([plugin], baseFields()))
  return fields
}

export async function startRole(options: StartRoleOptions): Promise<RunningRole> {
  const runtime = await loadRuntime()
  const env = options.env ?? runtime.env()
  const role = await loadRole(options.role)
  const file = options.configPath ? await readConfigFile(options.configPath, runtime.importModule) : undefined
  const dataDir = resolveDataDir(env)
  const sources: Omit<ResolveConfigInput, 'fields'> = {
    defaults: { port: role.port, dataDir, ...role.defaults },
    layers: role.layers?.(dataDir) ?? [],
    file,
    env,
    flags: options.flags,
  }

  // Pass 1: what picks plugins (storage, disable, plugins, pluginOptions), with every candidate's fields known.
  const allFields = await roleFields(role)
  const first = resolveConfig({ ...sources, fields: allFields, lenient: true })
  first.role = role.name
  const plugins = await resolvePlugins(role, first, options, runtime.importModule)

  // Pass 2: every source checked against the fields of the plugins that will run.
  const fields = { ...allFields, ...collectFields(plugins, { ...baseFields(), ...role.fields }) }
  const config = resolveConfig({ ...sources, fields })
  config.role = role.name
  config.dataDir = resolve(config.dataDir)
  secureDataDir(config.dataDir)
  const logger = createLogger(config.logLevel)

  const app = new Hono()
  installErrorHandlers(app, logger)
  // Bound is not ready: what runs once the port is held (the hub's first admin) finishes before any request is served.
  let ready = false
  app.use(async (c, next) => {
    if (ready) return next()
    c.header('retry-after', '1')
    return c.json({ error: 'starting', message: 'The server is starting; try again in a moment.' }, 503)
  })
  const http = runtime.createServer(app)
  let url = ''
  const server: ServerCapabilities = {
    app,
    upgradeWebSocket: http.upgradeWebSocket,
    get url() {
      return url
    },
    tls: config.tls.enabled,
  }

  const thresh = createThresh({ role: role.name, config, plugins, server, runtime: runtime.info, logger, dataDir: config.dataDir })
  await thresh.setup()
  if (options.only) {
    return { url: '', port: 0, config, thresh, logger, stop: (reason) => thresh.close(reason) }
  }

  // A role with a status socket (the agent) listens on it, unless a TCP port was asked for.
  const extra = config as Record<string, unknown>
  const portAsked = typeof extra.statusPort === 'number' || options.flags?.port !== undefined || Boolean(env.THRESH_PORT)
  const socketPath = typeof extra.statusSocket === 'string' && extra.statusSocket && !portAsked && process.platform !== 'win32' ? resolve(config.dataDir, extra.statusSocket) : undefined
  const listenPort = typeof extra.statusPort === 'number' ? extra.statusPort : config.port
  let listening: Awaited<ReturnType<typeof http.listen>>
  let tls: (TlsMaterial & { own?: boolean }) | undefined
  try {
    tls = await servingTls(thresh, config, providesCertificate(plugins))
    if (socketPath) await clearStaleSocket(socketPath)
    listening = await http.listen({ host: config.host, port: listenPort, tls, ...(socketPath ? { path: socketPath } : {}) })
  } catch (cause) {
    await thresh.close('listen failed').catch(() => {})
    const code = (cause as { code?: string }).code
    throw new ThreshError({
      code: 'listen_failed',
      message:
        code === 'EADDRINUSE' || (cause as Error).name === 'AddrInUse'
          ? socketPath
            ? `Another ${role.name} is already running with THRESH_HOME ${config.dataDir} (it holds ${socketPath}); stop it first.`
            : `Port ${listenPort} is already in use on ${config.host}; choose another with --port.`
          : `Cannot listen on ${socketPath ?? `${config.host}:${listenPort}`}: ${(cause as Error).message}`,
      cause,
    })
  }
  if (providesCertificate(plugins)) {
    thresh.use('serving-certificate').onRenew((next) => {
      if (listening.setTls(next)) logger.info(`Serving the renewed certificate (valid until ${next.notAfter?.toISOString() ?? '?'}).`)
      else logger.warn('A renewed certificate is stored; this runtime serves it from the next start.')
    })
  }

  const scheme = config.tls.enabled ? 'https' : 'http'
  const wildcard = config.host === '0.0.0.0' || config.host === '::'
  const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host)
  url = socketPath ? `unix:${socketPath}` : `${scheme}://${hostPart(wildcard ? '127.0.0.1' : config.host)}:${listening.port}`
  thresh.bus.emit('server:listening', { url, port: listening.port })
  await thresh.hooks.callHook('server:listening', url)
  ready = true
  // The address actually bound, and where it can be reached from.
  if (socketPath) logger.info(`${role.name} listening on ${socketPath}`)
  else {
    const reachable = wildcard ? reachableUrls(scheme, listening.port, config.host === '::') : [url]
    logger.info(`${role.name} listening on ${hostPart(config.host)}:${listening.port} (${reachable.join(', ')})`)
  }
  if (tls?.fingerprint && tls.own) {
    logger.info(`Fleet CA fingerprint: ${tls.fingerprint} (clients pin it: thresh auth login --hub URL --fingerprint ${tls.fingerprint})`)
  }

  let stopping: Promise<void> | undefined
  return {
    url,
    port: listening.port,
    config,
    thresh,
    logger,
    stop: (reason) =>
      (stopping ??= (async () => {
        try {
          await thresh.close(reason)
        } finally {
          await listening.close()
        }
      })()),
  }
}

/**
 * What the role serves: the user's own certificate files; else one a plugin gets elsewhere (a
 * mid-tier's, signed by its hub's fleet CA); else one signed by the fleet CA in this data dir (the
 * hub's, for this machine's names and `advertise`). `own` marks a certificate from this data dir's CA.
 */
async function servingTls(thresh: Thresh, config: ThreshConfig, provided: boolean): Promise<(TlsMaterial & { own?: boolean }) | undefined> {
  if (!config.tls.enabled) return undefined
  const advertise = ((config as Record<string, unknown>).advertise as string[] | undefined) ?? []
  if (!(config.tls.cert && config.tls.key) && provided) return thresh.use('serving-certificate').initial()
  const material = await loadTlsMaterial(config.tls, config.dataDir, { fleetCa: true, advertise })
  return material && { ...material, own: Boolean(material.fingerprint) }
}

/** A socket file left by a process that died is removed; one a live process answers on is left (listen then says so). */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return
  const live = await new Promise<boolean>((done) => {
    const probe = connect({ path }, () => {
      probe.destroy()
      done(true)
    })
    probe.on('error', () => done(false))
  })
  if (!live) rmSync(path, { force: true })
}

const providesCertificate = (plugins: ThreshPlugin<any>[]) => plugins.some((p) => p.provides?.includes('serving-certificate'))

/** The URLs a server bound to every interface answers at: loopback first, then each interface address. */
function reachableUrls(scheme: string, port: number, ipv6: boolean): string[] {
  const addresses = localNames().filter((name) => /^[\d.]+$/.test(name) || (ipv6 && name.includes(':')))
  return addresses.map((address) => `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`)
}

/** THRESH_HOME decides where role layers (agent.json) live, before any other source is read. */
function resolveDataDir(env: Record<string, string | undefined>): string {
  return resolve(env.THRESH_HOME || resolve(homedir(), '.thresh'))
}

async function readConfigFile(
  path: string,
  importModule: (specifier: string) => Promise<Record<string, unknown>>,
): Promise<{ path: string; data: unknown }> {
  const absolute = resolve(path)
  if (/\.(c|m)?(t|j)s$/.test(absolute)) {
    try {
      const module = await importModule(absolute)
      return { path, data: module.default ?? module }
    } catch (cause) {
      throw new ThreshError({ code: 'config_unreadable', message: `Cannot load config file ${path}: ${(cause as Error).message}`, cause })
    }
  }
  let text: string
  try {
    text = readFileSync(absolute, 'utf8')
  } catch (cause) {
    throw new ThreshError({ code: 'config_unreadable', message: `Cannot read config file ${path}: ${(cause as Error).message}`, cause })
  }
  try {
    return { path, data: JSON.parse(text) }
  } catch (cause) {
    throw new ThreshError({ code: 'config_invalid', message: `Config file ${path} is not valid JSON: ${(cause as Error).message}`, cause })
  }
}

async function resolvePlugins(
  role: RoleDefinition,
  config: ThreshConfig,
  options: StartRoleOptions,
  importModule: (specifier: string) => Promise<Record<string, unknown>>,
): Promise<ThreshPlugin<any>[]> {
  const known = new Set(role.plugins.map((p) => p.name))
  for (const name of config.disable) {
    if (!known.has(name)) {
      throw new ThreshError({
        code: 'config_invalid',
        message: `Config field 'disable' names plugin '${name}', which role '${config.role}' does not have (it has: ${[...known].join(', ')}).`,
      })
    }
  }
  const plugins: ThreshPlugin<any>[] = []
  for (const entry of role.plugins) {
    if (config.disable.includes(entry.name)) continue
    if (options.only && !options.only.includes(entry.name)) continue
    // A choice's candidates are keyed by plugin name, so `pluginOptions['storage-postgres']` reaches it.
    const name = isRoleChoice(entry) ? entry.choose(config) : entry.name
    const factory = isRoleChoice(entry) ? await entry.from[name]!() : await entry.load()
    plugins.push(factory(config.pluginOptions[name] ?? config.pluginOptions[entry.name] ?? {}))
  }
  const baseDir = options.configPath ? dirname(resolve(options.configPath)) : process.cwd()
  for (const entry of options.only ? [] : config.plugins) {
    const [specifier, pluginOptions] = typeof entry === 'string' ? [entry, undefined] : entry
    const target = specifier.startsWith('.') || isAbsolute(specifier) ? resolve(baseDir, specifier) : specifier
    let module: Record<string, unknown>
    try {
      module = await importModule(target)
    } catch (cause) {
      throw new ThreshError({ code: 'plugin_unloadable', plugin: specifier, message: `Cannot load plugin '${specifier}' named in config field 'plugins': ${(cause as Error).message}`, cause })
    }
    const exported = module.default ?? module.plugin
    if (typeof exported === 'function') {
      plugins.push((exported as PluginFactory)(pluginOptions ?? {}))
    } else if (exported && typeof exported === 'object') {
      plugins.push(exported as ThreshPlugin)
    } else {
      throw new ThreshError({ code: 'plugin_unloadable', plugin: specifier, message: `Plugin '${specifier}' named in config field 'plugins' has no default export of a plugin factory.` })
    }
  }
  plugins.push(...(options.plugins ?? []))
  return plugins
}
