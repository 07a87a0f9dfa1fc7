// The public surface of thresh's core: plugins, roles, config, events, hooks, errors.
export { definePlugin } from './plugin.ts'
export type {
  PluginContext,
  PluginFactory,
  RuntimeInfo,
  ServerCapabilities,
  Teardown,
  ThreshEvents,
  ThreshHooks,
  ThreshPlugin,
  ThreshServices,
} from './plugin.ts'
export { defineRole, isRoleChoice } from './role.ts'
export type { RoleChoice, RoleDefinition, RolePlugin } from './role.ts'
export { camelCase, coerceField, commonConfigFields, defineConfig, defineFields, describeField, envName, kebabCase, resolveConfig } from './config.ts'
export { formatDuration, parseDuration } from './duration.ts'
export type { ConfigField, ConfigFields, ConfigSource, PluginEntry, ResolveConfigInput, SettingsOf, ThreshConfig, TlsConfig } from './config.ts'
export { createThresh } from './lifecycle.ts'
export type { CreateThreshOptions, Thresh } from './lifecycle.ts'
export { checkPlugins, collectFields } from './registry.ts'
export { createEventBus } from './bus.ts'
export type { EventBus } from './bus.ts'
export { createHooks } from './hooks.ts'
export type { Hooks } from './hooks.ts'
export { createMetricsRegistry } from './metrics.ts'
export type { Counter, MetricsRegistry } from './metrics.ts'
export type { Logger, LogLevel } from './logger.ts'
export { describeError, isThreshError, ThreshError } from './errors.ts'
export type { ThreshErrorOptions } from './errors.ts'
export { version } from './version.ts'
