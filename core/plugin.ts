// The plugin contract: a plugin is a plain object made by a factory, reaching the world only through ctx.
import type { Hono } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import type { EventBus } from './bus.ts'
import type { Hooks } from './hooks.ts'
import type { Logger } from './logger.ts'
import type { MetricsRegistry } from './metrics.ts'
import type { ConfigFields, SettingsOf, ThreshConfig } from './config.ts'

/** Services plugins provide to each other; extended by declaration merging. */
// deno-lint-ignore no-empty-interface
export interface ThreshServices {}

/** Fire-and-forget events on `ctx.bus`; extended by declaration merging. */
export interface ThreshEvents {
  'server:listening': { url: string; port: number }
  'thresh:stopping': { reason: string }
}

/** Awaited extension points on `ctx.hooks`; extended by declaration merging. */
export interface ThreshHooks {
  /** Every plugin's setup has finished; the server is not yet listening. */
  'app:ready': () => void | Promise<void>
  /** The server is listening at `url`. */
  'server:listening': (url: string) => void | Promise<void>
  /** Shutdown has begun; runs before any teardown (drain work here). */
  'app:close': () => void | Promise<void>
}

export type Teardown = () => void | Promise<void>

export interface ServerCapabilities {
  /** The role's HTTP app: plugins add routes to it. */
  app: Hono
  /** Hono's runtime-neutral WebSocket upgrade helper for this runtime. */
  upgradeWebSocket: UpgradeWebSocket
  /** Base URL once listening (`https://127.0.0.1:7200`); empty before. */
  readonly url: string
  readonly tls: boolean
}

export interface RuntimeInfo {
  name: 'node' | 'deno'
  version: string
}

export interface PluginContext<Settings = Record<string, unknown>> {
  role: string
  /** The whole resolved config, read-only: a plugin's own fields are in `settings`. */
  config: Readonly<ThreshConfig>
  /** This plugin's declared fields, resolved from defaults, the role, the file, THRESH_* and flags. */
  settings: Readonly<Settings>
  logger: Logger
  bus: EventBus<ThreshEvents>
  hooks: Hooks<ThreshHooks>
  server: ServerCapabilities
  runtime: RuntimeInfo
  metrics: MetricsRegistry
  /** THRESH_HOME (default ~/.thresh). */
  dataDir: string
  provide<K extends keyof ThreshServices>(name: K, service: ThreshServices[K]): void
  use<K extends keyof ThreshServices>(name: K): ThreshServices[K]
  has(name: string): boolean
}

export interface ThreshPlugin<Fields extends ConfigFields = ConfigFields> {
  /** Unique name, used in logs, errors and `disable` lists. */
  name: string
  /** Services that earlier plugins must provide. */
  requires?: string[]
  /** Services this plugin provides with `ctx.provide`. */
  provides?: string[]
  /**
   * The settings this plugin reads, declared once: config file field, `THRESH_<FIELD>` variable and
   * `thresh run --<field>` flag all come from here, and the values arrive typed in `ctx.settings`.
   */
  config?: Fields
  setup(ctx: PluginContext<SettingsOf<Fields>>): void | Teardown | Promise<void | Teardown>
}

/** A plugin's factory; `thresh run` calls it with `pluginOptions[name]` from config. */
export type PluginFactory<Options = any> = (options?: Options) => ThreshPlugin<any>

/**
 * Types a plugin factory and its settings; adds nothing at run time.
 * @example
 * export default definePlugin((opts: { route?: string } = {}) => ({
 *   name: 'hello',
 *   config: defineFields({ greeting: { type: 'string', description: 'what to say', default: 'hi' } }),
 *   setup(ctx) { ctx.server.app.get(opts.route ?? '/hello', (c) => c.text(ctx.settings.greeting)) },
 * }))
 */
export function definePlugin<Options = Record<string, unknown>, const Fields extends ConfigFields = {}>(
  factory: (options?: Options) => ThreshPlugin<Fields>,
): PluginFactory<Options> {
  return factory
}
