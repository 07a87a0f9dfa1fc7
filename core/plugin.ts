// The plugin contract: a plugin is a plain object made by a factory, reaching the world only through ctx.
import type { Hono } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import type { EventBus } from './bus.ts'
import type { Hooks } from './hooks.ts'
import type { Logger } from './logger.ts'
import type { MetricsRegistry } from './metrics.ts'
import type { ThreshConfig } from './config.ts'

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

export interface PluginContext {
  role: string
  config: ThreshConfig
  /** This plugin's options, as given in config (`pluginOptions[name]`) or to its factory. */
  options: Record<string, unknown>
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

export interface ThreshPlugin {
  /** Unique name, used in logs, errors and `disable` lists. */
  name: string
  /** Services that earlier plugins must provide. */
  requires?: string[]
  /** Services this plugin provides with `ctx.provide`. */
  provides?: string[]
  setup(ctx: PluginContext): void | Teardown | Promise<void | Teardown>
}

export type PluginFactory<Options = any> = (options?: Options) => ThreshPlugin

/**
 * Types a plugin factory; adds nothing at run time.
 * @example
 * export default definePlugin((opts: { greeting?: string } = {}) => ({
 *   name: 'hello',
 *   setup(ctx) { ctx.server.app.get('/hello', (c) => c.text(opts.greeting ?? 'hi')) },
 * }))
 */
export function definePlugin<Options = Record<string, unknown>>(
  factory: (options?: Options) => ThreshPlugin,
): PluginFactory<Options> {
  return factory
}
