// Starts a role: resolve config -> resolve plugins -> set them up in order -> serve.
// The returned `stop()` tears everything down in reverse order.
import { Hono } from 'hono'
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import process from 'node:process'
import { dirname, isAbsolute, resolve } from 'node:path'
import {
  commonConfigFields,
  createLogger,
  createThresh,
  resolveConfig,
  ThreshError,
  type Logger,
  type PluginFactory,
  type RolePlugin,
  type ServerCapabilities,
  type Thresh,
  type ThreshConfig,
  type ThreshPlugin,
} from '../core/index.ts'
import { loadRole } from '../roles/index.ts'
import { loadRuntime } from './index.ts'
import { installErrorHandlers } from './http-errors.ts'
import { loadTlsMaterial } from './tls.ts'

export interface StartRoleOptions {
  role: string
  configPath?: string
  /** CLI flags, the strongest config source. */
  flags?: Record<string, unknown>
  env?: Record<string, string | undefined>
  /** Plugins appended after the role's and the config's own (tests, embedding). */
  plugins?: ThreshPlugin[]
}

export interface RunningRole {
  url: string
  port: number
  config: ThreshConfig
  thresh: Thresh
  logger: Logger
  stop(reason?: string): Promise<void>
}

export async function startRole(options: StartRoleOptions): Promise<RunningRole> {
  const runtime = await loadRuntime()
  const env = options.env ?? runtime.env()
  const role = await loadRole(options.role)

  const file = options.configPath ? await readConfigFile(options.configPath, runtime.importModule) : undefined
  const config = resolveConfig({
    fields: { ...commonConfigFields, ...role.fields },
    defaults: { port: role.port, dataDir: resolve(homedir(), '.thresh'), ...role.defaults },
    file,
    env,
    flags: options.flags,
  })
  config.role = role.name
  config.dataDir = resolve(config.dataDir)
  const logger = createLogger(config.logLevel)

  const plugins = await resolvePlugins(role.plugins, config, options, runtime.importModule)

  const app = new Hono()
  installErrorHandlers(app, logger)
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

  let listening: Awaited<ReturnType<typeof http.listen>>
  try {
    const tls = await loadTlsMaterial(config.tls, config.dataDir)
    listening = await http.listen({ host: config.host, port: config.port, tls })
  } catch (cause) {
    await thresh.close('listen failed').catch(() => {})
    const code = (cause as { code?: string }).code
    throw new ThreshError({
      code: 'listen_failed',
      message:
        code === 'EADDRINUSE' || (cause as Error).name === 'AddrInUse'
          ? `Port ${config.port} is already in use on ${config.host}; choose another with --port.`
          : `Cannot listen on ${config.host}:${config.port}: ${(cause as Error).message}`,
      cause,
    })
  }

  const displayHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  url = `${config.tls.enabled ? 'https' : 'http'}://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${listening.port}`
  thresh.bus.emit('server:listening', { url, port: listening.port })
  await thresh.hooks.callHook('server:listening', url)
  logger.info(`${role.name} listening on ${url}`)

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
  rolePlugins: RolePlugin[],
  config: ThreshConfig,
  options: StartRoleOptions,
  importModule: (specifier: string) => Promise<Record<string, unknown>>,
): Promise<ThreshPlugin[]> {
  const known = new Set(rolePlugins.map((p) => p.name))
  for (const name of config.disable) {
    if (!known.has(name)) {
      throw new ThreshError({
        code: 'config_invalid',
        message: `Config field 'disable' names plugin '${name}', which role '${config.role}' does not have (it has: ${[...known].join(', ')}).`,
      })
    }
  }
  const plugins: ThreshPlugin[] = []
  for (const entry of rolePlugins) {
    if (config.disable.includes(entry.name)) continue
    const factory = await entry.load(config)
    plugins.push(factory(config.pluginOptions[entry.name] ?? {}))
  }
  const baseDir = options.configPath ? dirname(resolve(options.configPath)) : process.cwd()
  for (const entry of config.plugins) {
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
      const plugin = (exported as PluginFactory)(pluginOptions ?? {})
      plugins.push(plugin)
    } else if (exported && typeof exported === 'object') {
      plugins.push(exported as ThreshPlugin)
    } else {
      throw new ThreshError({ code: 'plugin_unloadable', plugin: specifier, message: `Plugin '${specifier}' named in config field 'plugins' has no default export of a plugin factory.` })
    }
  }
  plugins.push(...(options.plugins ?? []))
  return plugins
}
