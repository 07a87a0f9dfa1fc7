// Checks a list of plugins before anything starts: names, that every required service is
// provided exactly once by an earlier plugin, and that no two plugins claim one setting.
import type { ConfigFields } from './config.ts'
import { ThreshError } from './errors.ts'
import type { ThreshPlugin } from './plugin.ts'

/**
 * Every setting the plugins declare, by field name. Two plugins may read one setting only by sharing
 * its declaration (the same object); two declarations of one name are a plugin author's mistake.
 */
export function collectFields(plugins: ThreshPlugin<any>[], taken: ConfigFields = {}): ConfigFields {
  const fields: ConfigFields = {}
  const owner = new Map<string, string>()
  for (const plugin of plugins) {
    for (const [name, field] of Object.entries((plugin.config ?? {}) as ConfigFields)) {
      const clash = Object.hasOwn(taken, name) ? 'the core' : fields[name] && fields[name] !== field ? `plugin '${owner.get(name)}'` : undefined
      if (clash) {
        throw new ThreshError({
          code: 'plugin_config_conflict',
          plugin: plugin.name,
          message: `Plugin '${plugin.name}' declares setting '${name}', which ${clash} already declares; rename one of them.`,
        })
      }
      fields[name] = field
      owner.set(name, plugin.name)
    }
  }
  return fields
}

export function checkPlugins(plugins: ThreshPlugin[]): void {
  const names = new Set<string>()
  const providers = new Map<string, string>()
  for (const plugin of plugins) {
    if (!plugin || typeof plugin !== 'object' || typeof plugin.name !== 'string' || !plugin.name) {
      throw new ThreshError({ code: 'plugin_invalid', message: 'A plugin has no name: every plugin must have a non-empty `name`.' })
    }
    if (typeof plugin.setup !== 'function') {
      throw new ThreshError({ code: 'plugin_invalid', plugin: plugin.name, message: `Plugin '${plugin.name}' has no setup function.` })
    }
    if (names.has(plugin.name)) {
      throw new ThreshError({ code: 'plugin_duplicate', plugin: plugin.name, message: `Plugin '${plugin.name}' is listed twice.` })
    }
    names.add(plugin.name)
    for (const service of plugin.requires ?? []) {
      if (!providers.has(service)) {
        throw new ThreshError({
          code: 'plugin_requires',
          plugin: plugin.name,
          message: `Plugin '${plugin.name}' requires service '${service}', which no earlier plugin provides.`,
        })
      }
    }
    for (const service of plugin.provides ?? []) {
      const other = providers.get(service)
      if (other) {
        throw new ThreshError({
          code: 'plugin_conflict',
          plugin: plugin.name,
          message: `Plugins '${other}' and '${plugin.name}' both provide service '${service}'; disable one of them.`,
        })
      }
      providers.set(service, plugin.name)
    }
  }
}
